"""A local fake of api.video (``python -m devtools.apivideo``), served by the run command when
there is no APIVIDEO_API_KEY and by the tests (tests/support/apivideo.py)."""
