"""The migration linter's accepted exceptions (config/settings_migrations.py) name real
migrations, and the linter is told to ignore exactly those names."""

from django.conf import settings
from django.db.migrations.loader import MigrationLoader


def test_every_accepted_migration_exists_and_has_a_reason():
    on_disk = set(MigrationLoader(None, load=True).disk_migrations)
    for name, reason in settings.MIGRATION_LINT_ACCEPTED.items():
        app_label, migration = name.split(".", 1)
        assert (app_label, migration) in on_disk, name
        assert len(reason) > 10, name


def test_the_linter_lints_the_projects_apps_with_warnings_as_errors():
    options = settings.MIGRATION_LINTER_OPTIONS
    assert {"tenants", "interviews", "invitations", "webhooks"} <= set(options["include_apps"])
    assert options["warnings_as_errors"] == []  # [] on the command line: every warning
    accepted = {name.split(".", 1)[1] for name in settings.MIGRATION_LINT_ACCEPTED}
    assert set(options["ignore_name"]) == accepted


# The linter ignores by migration name in every app: these copies of an accepted name are
# ignored along with it, and lint clean on their own (checked when the list was made).
IGNORED_BY_NAME_ONLY = {
    ("interviews", "0002_row_level_security"),
    ("invitations", "0002_row_level_security"),
    ("webhooks", "0002_row_level_security"),
    ("tenant_api", "0002_row_level_security"),
    ("provisioning", "0002_row_level_security"),
}


def test_no_new_migration_is_hidden_by_an_accepted_name():
    accepted = {tuple(name.split(".", 1)) for name in settings.MIGRATION_LINT_ACCEPTED}
    names = {migration for _, migration in accepted}
    linted_apps = set(settings.MIGRATION_LINTER_OPTIONS["include_apps"])
    hidden = {
        key
        for key in MigrationLoader(None, load=True).disk_migrations
        if key[0] in linted_apps and key[1] in names and key not in accepted
    }
    # A new migration with one of these names would skip the linter: give it another name.
    assert hidden == IGNORED_BY_NAME_ONLY
