"""Reading the console's pages as a person would: what a form row shows."""

import re


def form_row(html: str, field: str) -> str:
    """The markup of the admin form row for ``field`` (its errors, label and input)."""
    match = re.search(
        rf'<div class="form-row[^"]*\bfield-{re.escape(field)}\b.*?(?=<div class="form-row|'
        r"</fieldset>)",
        html,
        re.S,
    )
    assert match, f"no form row for {field!r}"
    return match.group(0)


def field_errors(html: str, field: str) -> list[str]:
    """The error messages shown in ``field``'s row."""
    row = form_row(html, field)
    errorlist = re.search(r'<ul class="errorlist[^"]*"[^>]*>(.*?)</ul>', row, re.S)
    return re.findall(r"<li>(.*?)</li>", errorlist.group(1)) if errorlist else []
