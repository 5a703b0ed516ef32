"""Read-only tables for sections of the console's pages."""

from django.utils.html import format_html, format_html_join


def readonly_table(headers, rows) -> str:
    """A read-only table for a section of a page (plain HTML: no form fields, however long
    an interview's transcript or timeline)."""
    if not rows:
        return "-"
    return format_html(
        '<table class="readonly-rows"><thead><tr>{}</tr></thead><tbody>{}</tbody></table>',
        format_html_join("", "<th>{}</th>", ((h,) for h in headers)),
        format_html_join(
            "",
            "<tr>{}</tr>",
            ((format_html_join("", "<td>{}</td>", ((c,) for c in r)),) for r in rows),
        ),
    )
