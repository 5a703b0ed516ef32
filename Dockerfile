# The image every Fly process group (web, worker, beat) runs.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1

WORKDIR /app
RUN useradd --create-home --uid 10001 app

# Dependencies first, pinned by constraints.txt, so code changes reuse this layer.
COPY pyproject.toml constraints.txt README.md ./
RUN mkdir config core tenants interviews invitations live privacy \
    && pip install -c constraints.txt . \
    && pip uninstall -y interview-platform

COPY . .
# collectstatic imports the settings, which in production demand real values; these exist only
# for this build step and are not in the final environment.
RUN DJANGO_ENV=production DEBUG=false ALLOWED_HOSTS=build.invalid EMAIL_URL=smtp://build.invalid \
    SECRET_KEY=build-only-$(python -c "import secrets; print(secrets.token_urlsafe(48))") \
    python manage.py collectstatic --noinput \
    && chown -R app:app /app

USER app
EXPOSE 8000
CMD ["daphne", "--verbosity", "0", "-e", "tcp:port=8000:interface=0.0.0.0:backlog=1024", "config.asgi:application"]
