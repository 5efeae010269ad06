"""Reports: sections made of text, charts and tables, rendered to one self-contained HTML file."""
from tradepact.report.document import Chart, Note, Report, Section, TableBlock

__all__ = ["Chart", "Note", "Report", "Section", "TableBlock"]
