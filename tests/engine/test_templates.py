"""Personalisation (fluenzr_server.engine.templates): variables, fallbacks, parse errors, the sandbox."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fluenzr_server.engine import templates
from fluenzr_server.engine.templates import (
    MissingVariable,
    RenderError,
    TemplateProblem,
    UnsafeTemplate,
    check,
    render,
    variables,
)

ADA: dict[str, Any] = {
    "email": "ada@example.com",
    "firstName": "Ada",
    "lastName": "Lovelace",
    "company": "Analytical Engines",
    "customFields": {"role": "CTO", "seats": 12, "trial": True, "firstName": "ignored"},
}


def test_standard_and_custom_fields() -> None:
    got = render("Hi {{firstName}} {{ lastName }} of {{company}} <{{email}}>: {{role}}, {{seats}} seats", ADA)
    assert got == "Hi Ada Lovelace of Analytical Engines <ada@example.com>: CTO, 12 seats"


def test_standard_fields_win_over_a_custom_field_of_the_same_name() -> None:
    assert render("{{firstName}}", ADA) == "Ada"


def test_fallback_for_a_missing_key_and_for_an_empty_value() -> None:
    contact = {"email": "x@example.com", "firstName": "", "customFields": {"nick": "   "}}
    assert render('Hi {{ firstName | default("there") }}!', contact) == "Hi there!"
    assert render('Hi {{ lastName | default("there") }}!', contact) == "Hi there!"
    assert render('Hi {{ nick | default("friend") }}!', contact) == "Hi friend!"
    assert render('Hi {{ unknownKey | d("friend") }}!', contact) == "Hi friend!"
    assert render('Hi {{ firstName | default("there") }}!', ADA) == "Hi Ada!"


def test_fallback_can_be_another_variable() -> None:
    assert render("{{ nickname | default(firstName) }}", ADA) == "Ada"


@pytest.mark.parametrize("value", [None, "", "  ", "\t\n"])
def test_a_blank_value_without_fallback_is_missing(value: str | None) -> None:
    with pytest.raises(MissingVariable) as caught:
        render("Hi {{ firstName }}", {"email": "x@example.com", "firstName": value})
    assert caught.value.name == "firstName"
    assert "firstName" in caught.value.reason


def test_a_missing_custom_field_names_itself() -> None:
    with pytest.raises(MissingVariable) as caught:
        render("About {{ favouriteColour }}", ADA)
    assert caught.value.name == "favouriteColour"


@pytest.mark.parametrize(
    "template", ["Hi {{ firstName }}", "{% if firstName %}x{% endif %}", "{{ firstName ~ '!' }}"]
)
def test_never_hi_blank_or_the_raw_tag(template: str) -> None:
    with pytest.raises(MissingVariable):
        render(template, {"email": "x@example.com"})


@settings(max_examples=200, deadline=None)
@given(first=st.one_of(st.none(), st.text(max_size=10)))
def test_hi_is_always_followed_by_a_name(first: str | None) -> None:
    contact = {"email": "x@example.com", "firstName": first}
    try:
        got = render("Hi {{ firstName }}", contact)
    except MissingVariable:
        assert first is None or not first.strip()
    else:
        assert got.strip() != "Hi"
        assert "{{" not in got or "{{" in (first or "")
        assert got == f"Hi {first}"


def test_output_is_plain_text_not_escaped() -> None:
    contact = {"email": "x@example.com", "company": 'Smith & <Sons> "Ltd"'}
    assert render("{{ company }}", contact) == 'Smith & <Sons> "Ltd"'


def test_a_value_containing_template_syntax_is_not_evaluated() -> None:
    contact = {"email": "x@example.com", "firstName": "{{ email }}"}
    assert render("Hi {{ firstName }}", contact) == "Hi {{ email }}"


def test_filters_and_conditions_work() -> None:
    assert render("{{ firstName | upper }}{% if seats > 10 %} (big){% endif %}", ADA) == "ADA (big)"


def test_trailing_newline_is_kept() -> None:
    assert render("Hi {{firstName}}\n", ADA) == "Hi Ada\n"


# -- check ------------------------------------------------------------------------------------------------


def test_check_passes_valid_templates() -> None:
    assert check("Hi {{ firstName | default('there') }}, {% if company %}at {{company}}{% endif %}") is None
    assert check("no variables at all") is None


@pytest.mark.parametrize(
    ("template", "line", "column"),
    [
        ("Hi {{ firstName }", 1, 4),
        ("Hello,\n\nwe {% if x %} never close", 3, 4),
        ("{{ firstName | }}", 1, 1),
        ("ok\nok {{ a b }}", 2, 4),
        ("{% endfor %}", 1, 1),
    ],
)
def test_check_reports_line_and_column(template: str, line: int, column: int) -> None:
    problem = check(template)
    assert isinstance(problem, TemplateProblem)
    assert (problem.line, problem.column) == (line, column)
    assert problem.message
    assert str(problem).startswith(f"line {line}, column {column}: ")


@pytest.mark.parametrize(
    "template",
    ["{% include 'x.txt' %}", "a\n{% extends 'base' %}", "{% import 'm' as m %}", "{% from 'm' import x %}"],
)
def test_check_refuses_loading_other_templates(template: str) -> None:
    problem = check(template)
    assert problem is not None
    assert "not available" in problem.message
    assert problem.line == template.count("\n") + 1
    with pytest.raises(RenderError):
        render(template, ADA)


def test_render_of_a_template_that_does_not_parse_is_a_render_error() -> None:
    with pytest.raises(RenderError, match="does not parse"):
        render("{{ oops", ADA)


# -- variables --------------------------------------------------------------------------------------------


def test_variables_lists_what_the_template_reads() -> None:
    template = "{{firstName}} {{ nick | default(lastName) }} {% for i in range(2) %}{{ i }}{% endfor %}"
    assert variables(template) == {"firstName", "nick", "lastName"}
    assert variables("plain") == set()
    assert variables("{{ broken") == set()


# -- sandbox ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "template",
    [
        "{{ ''.__class__ }}",
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{{ cycler.__init__.__globals__ }}",
        "{{ joiner.__init__.__globals__.os }}",
        "{{ firstName.__class__ }}",
        "{{ (firstName|attr('__class__')) }}",
        "{% for i in range(10**9) %}x{% endfor %}",
        "{{ range(100000000) | list | length }}",
        "{{ 'x' * 1000000000 }}",
        "{{ [1] * 1000000000 }}",
        "{{ 10 ** 1000000 }}",
        "{% for i in range(999) %}{% for j in range(999) %}xxxxxxxx{% endfor %}{% endfor %}",
        "{{ ''.format.__globals__ }}",
        # memory: huge widths, fills and replacements
        "{{ 'a'|center(1000000000) }}",
        "{{ 'a'.center(1000000000) }}",
        "{{ 'a'.zfill(100000000) }}",
        "{{ '%0100000000d' % 1 }}",
        "{{ '%.100000000f' % 1 }}",
        "{{ '{:>100000000}'.format(1) }}",
        "{{ '%0100000000d'|format(1) }}",
        "{{ ('x' * 10000).replace('x', 'x' * 10000) }}",
        "{{ ('x' * 10000)|replace('x', 'x' * 10000) }}",
        "{{ ('\\n' * 10000)|indent('x' * 10000) }}",
        # mutation that doubles a list
        "{% set l = [1] %}{% for i in range(60) %}{{ l.extend(l) }}{% endfor %}",
        # work that multiplies: macros (recursion), nested and recursive loops, long loops, busy loops
        "{% macro m(n) %}{{ m(n) }}{{ m(n) }}{% endmacro %}{{ m(1) }}",
        "{% for i in range(1000) %}{% for j in range(1000) %}{% endfor %}{% endfor %}",
        "{% for x in [1] recursive %}{{ loop(x) }}{% endfor %}",
        "{% set s = ('x' * 10000)|replace('x', 'xxxxxxxxxx') %}{% for c in s %}{% endfor %}",
        "{% set s = 'x' * 10000 %}{% for c in s[:1000] %}{% if (s ~ s)|length > 1 %}{% endif %}{% endfor %}",
    ],
)
def test_sandbox_escapes_and_blowups_are_refused_safely(template: str) -> None:
    with pytest.raises(UnsafeTemplate) as caught:
        render(template, ADA)
    assert "__globals__" not in caught.value.reason or "unsafe" in caught.value.reason
    assert "Traceback" not in caught.value.reason


def test_namespace_and_lipsum_are_not_available() -> None:
    for template in ("{% set ns = namespace(s='') %}", "{{ lipsum() }}"):
        with pytest.raises(MissingVariable):
            render(template, ADA)
    with pytest.raises(UnsafeTemplate):
        render("{{ namespace.__init__.__globals__ }}", ADA)


def test_one_level_loops_and_conditions_still_work() -> None:
    template = (
        "{% for i in range(3) %}{{ firstName }}{{ loop.index }} {% endfor %}{% if seats > 10 %}!{% endif %}"
    )
    assert render(template, ADA) == "Ada1 Ada2 Ada3 !"
    many = "{% for i in range(1000) %}{{ firstName | upper }}{% endfor %}"
    assert render(many, ADA) == "ADA" * 1000


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("{% macro m() %}x{% endmacro %}", "macros"),
        ("a\n{% for i in range(2) %}\n{% for j in range(2) %}{% endfor %}{% endfor %}", "loop inside a loop"),
        ("{% for x in [1] recursive %}{% endfor %}", "recursive loops"),
        ("{% call x() %}{% endcall %}", "macros"),
    ],
)
def test_check_refuses_constructs_that_multiply_work(template: str, message: str) -> None:
    problem = check(template)
    assert problem is not None
    assert message in problem.message
    assert problem.line == (3 if "inside" in message else 1)


@pytest.mark.parametrize(
    ("template", "line", "column"),
    [
        ("{% for i in range(2) %}{% for j in range(2) %}{% endfor %}{% endfor %}", 1, 24),
        ("x {% for i in range(2) %}\n  {%- for j in range(2) %}{% endfor %}{% endfor %}", 2, 3),
        ("Hi {{ firstName }}\n  {% include 'other' %}", 2, 3),
        ("{{ a }} {% macro m() %}{% endmacro %}", 1, 9),
        ("{% for x in [1] %}{% endfor %} {% for y in [2] recursive %}{% endfor %}", 1, 32),
    ],
)
def test_refused_constructs_are_located_by_line_and_column(template: str, line: int, column: int) -> None:
    problem = check(template)
    assert problem is not None
    assert (problem.line, problem.column) == (line, column)


def test_render_errors_are_render_errors() -> None:
    with pytest.raises(RenderError):
        render("{{ firstName | round }}", ADA)
    with pytest.raises(RenderError):
        render("{{ 1 / 0 }}", ADA)


def test_each_template_is_compiled_once() -> None:
    templates._compiled.cache_clear()
    for _ in range(5):
        render("Hi {{ firstName }} (cache test)", ADA)
    info = templates._compiled.cache_info()
    assert (info.misses, info.hits) == (1, 4)
