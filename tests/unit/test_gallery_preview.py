"""The review page's preview (nbconvert, sanitised, without author-only cells) and its warnings."""

import nbformat
from backstage.gallery.preview import MAX_TEXT_LINES, review_warnings, static_preview

v4 = nbformat.v4


def _notebook(*cells):
    return v4.new_notebook(cells=list(cells))


def test_the_preview_is_sanitised_and_leaves_out_author_only_cells():
    code = v4.new_code_cell("total = 38")
    code.outputs = [v4.new_output("display_data", data={
        "text/html": '<b>bold</b><img src=x onerror="alert(1)"><script>alert(2)</script>', "text/plain": "x"})]
    nb = _notebook(v4.new_markdown_cell("# Deprivation <script>alert(3)</script>"),
                   v4.new_markdown_cell("Tutorial: how to build this", metadata={"tags": ["author-only"]}),
                   code)
    html = static_preview(nb)
    assert "<h1>Deprivation" in html and "<b>bold</b>" in html
    assert ">total</span>" not in html and "In&nbsp;[" not in html  # officials see no code: nor does the preview
    assert "Tutorial: how to build this" not in html
    # what the sanitiser does not allow is removed: no script, no event handler, no frame
    assert "<script>alert" not in html and "onerror" not in html and 'src="x"' in html
    framed = v4.new_code_cell("m")
    framed.outputs = [v4.new_output("display_data", data={"text/html": '<iframe srcdoc="<script>x()</script>"></iframe>'})]
    assert "<iframe" not in static_preview(_notebook(framed))


def test_a_submit_cell_left_in_the_dashboard_is_named_with_the_fix():
    nb = _notebook(v4.new_code_cell("import govdata"),
                   v4.new_code_cell("from backstage.gallery.client import submit\nsubmit('x.ipynb', 't')"),
                   v4.new_code_cell("import os\nos.environ['JUPYTERHUB_API_TOKEN']"),
                   v4.new_code_cell("from backstage.gallery.client import submit", metadata={"tags": ["author-only"]}))
    warnings = review_warnings(nb)
    assert len(warnings) == 2
    assert warnings[0].startswith("Cell 2 ('from backstage.gallery.client import submit')")
    assert "tag it 'author-only'" in warnings[0]
    assert warnings[1].startswith("Cell 3 ('import os')")


def test_a_clean_dashboard_draws_no_warning():
    chart = v4.new_code_cell("chart")
    chart.outputs = [v4.new_output("display_data", data={"image/png": "iVBORw0KGgo=", "text/plain": "<Figure>"})]
    short = v4.new_code_cell("38")
    short.outputs = [v4.new_output("execute_result", data={"text/plain": "38"}, execution_count=1)]
    assert review_warnings(_notebook(chart, short)) == []


def test_a_lot_of_printed_output_or_an_error_is_named():
    noisy = v4.new_code_cell("for i in range(100): print(i)")
    noisy.outputs = [v4.new_output("stream", name="stdout", text="".join(f"{i}\n" for i in range(MAX_TEXT_LINES + 1)))]
    [warning] = review_warnings(_notebook(noisy))
    assert f"{MAX_TEXT_LINES + 1} lines of plain-text output" in warning and "cell 1" in warning
    warned = v4.new_code_cell("import pandas")
    warned.outputs = [v4.new_output("stream", name="stderr", text="\x1b[31mFutureWarning\x1b[0m: soon\n")]
    [warning] = review_warnings(_notebook(warned))
    assert "errors or warnings" in warning and "\x1b" not in warning
