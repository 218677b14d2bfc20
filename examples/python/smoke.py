"""A generated Python client against a live Broadsheet server.

    openapi-python-client generate --path openapi/openapi.json \
        --config examples/python/openapi-python-client.yaml --meta setup \
        --output-path .ci/out/python-client --fail-on-warning
    pip install .ci/out/python-client
    python examples/python/smoke.py http://127.0.0.1:8080   # BROADSHEET_PASSWORD=… for the editor steps

Every call goes through the generated package `broadsheet_client` (typed
models, `sync_detailed`): nothing here builds a URL or parses JSON by hand.
What it proves, for a second generator besides openapi-typescript:

- no parameter default leaks into requests: lists in page mode and in cursor
  mode send neither `page` nor `cursor` unless asked (a `page` default made
  generated clients send `page=1` beside `cursor=`, a 422);
- the generator's way of sending a list (`fields=a&fields=b`) is accepted;
- every property a resource always sends is required in the spec (so the
  generated model has no `Unset` for it), and every nullable one parses
  when it is null; an article narrowed with `fields` parses too;
- null in a PATCH clears a nullable field, and is a 422 naming the field
  where the field cannot be null.

`.ci/live-checks` runs it against a fresh server with demo content. One line
per step; exit status 1 when any step failed.
"""

from __future__ import annotations

import datetime
import importlib
import json
import os
import pkgutil
import sys
import traceback
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import parse_qsl, urlsplit

import attrs
import broadsheet_client.api
import httpx
from broadsheet_client import AuthenticatedClient, Client
from broadsheet_client.api.admin_articles import (
    create_article,
    delete_article,
    get_admin_article,
    update_article,
)
from broadsheet_client.api.articles import get_article, list_articles
from broadsheet_client.api.auth import get_me, login
from broadsheet_client.api.authors import get_author, list_authors
from broadsheet_client.api.comments import list_comments
from broadsheet_client.api.operations import get_open_api
from broadsheet_client.api.shares import get_share_counts
from broadsheet_client.api.tags import list_tags
from broadsheet_client.models import (
    ArticleField,
    ArticleList,
    ArticleResponse,
    ArticleStatus,
    ArticleSummary,
    AuthorList,
    AuthorResponse,
    AuthorSummary,
    CommentList,
    CommentResponse,
    CreateArticleRequest,
    EditorResponse,
    FeaturedImage,
    LoginRequest,
    Problem,
    Role,
    ShareCountsResponse,
    TagList,
    TagResponse,
    TagSummary,
    TokenResponse,
    UpdateArticleRequest,
)
from broadsheet_client.types import Response, Unset

DEMO_SLUG = "its-too-late-now-to-wait-for-the-perfect-tram-plan"

base_url = (sys.argv[1] if len(sys.argv) > 1 else os.environ.get("BROADSHEET_URL", "http://127.0.0.1:8080")).rstrip("/")
email = os.environ.get("BROADSHEET_EMAIL", "admin@broadsheet.test")
password = os.environ.get("BROADSHEET_PASSWORD")

# The query of every request, as sent: what the generated code put on the wire.
sent: list[httpx.Request] = []


def record(request: httpx.Request) -> None:
    sent.append(request)


httpx_args: dict[str, Any] = {"event_hooks": {"request": [record]}}
# An undocumented status raises errors.UnexpectedStatus: the step fails.
public = Client(base_url=base_url, raise_on_unexpected_status=True, httpx_args=httpx_args)


def last_query() -> list[tuple[str, str]]:
    return parse_qsl(urlsplit(str(sent[-1].url)).query, keep_blank_values=True)


class Failed(Exception):
    pass


def check(condition: bool, message: str) -> None:
    if not condition:
        raise Failed(message)


T = TypeVar("T")


def expect(response: Response[Any], status: int, model: type[T]) -> T:
    """The parsed body of a response with this status, typed as `model`."""
    if response.status_code != status:
        detail = response.parsed.detail if isinstance(response.parsed, Problem) else response.content[:300]
        raise Failed(f"expected {status}, got {int(response.status_code)}: {detail!r}")
    check(isinstance(response.parsed, model), f"expected a {model.__name__}, parsed {type(response.parsed).__name__}")
    return response.parsed  # type: ignore[return-value]


def required_names(model: type) -> set[str]:
    """The properties the spec marks required: attrs fields without a default (not `| Unset = UNSET`)."""
    return {f.name for f in attrs.fields(model) if f.name != "additional_properties" and f.default is attrs.NOTHING}


def json_names(model: type) -> dict[str, str]:
    """JSON name -> attribute name (`self` -> `self_`, `type` -> `type_`)."""
    return {f.name.rstrip("_"): f.name for f in attrs.fields(model) if f.name != "additional_properties"}


def all_required(model: type, raw: dict[str, Any], where: str) -> None:
    """Every property the server sent in a whole resource is a required, documented one, and the
    other way round: a property sent every time but optional in the spec is typed `| Unset`."""
    sent_names = set(raw)
    names = set(json_names(model))
    required = {n.rstrip("_") for n in required_names(model)}
    check(sent_names <= names, f"{where}: undocumented properties {sorted(sent_names - names)}")
    check(
        sent_names == required,
        f"{where}: sent {sorted(sent_names - required)} not required, "
        f"required {sorted(required - sent_names)} not sent",
    )


failures = 0
state: dict[str, Any] = {}


def step(name: str, run: Callable[[], str]) -> None:
    global failures
    try:
        detail = run()
        print(f"ok    {name}: {detail}")
    except Exception as e:  # a failed check, a parse error, UnexpectedStatus: all fail the step
        failures += 1
        message = str(e) if isinstance(e, Failed) else "".join(traceback.format_exception_only(e)).strip()
        print(f"FAIL  {name}: {message}")
        if not isinstance(e, Failed):
            traceback.print_exc(file=sys.stderr)


# --- the steps -----------------------------------------------------------


def every_operation_generated() -> str:
    spec = expect(get_open_api.sync_detailed(client=public), 200, object)
    paths = spec.additional_properties["paths"]  # type: ignore[attr-defined]
    # One module per operation, named after its operationId (listArticles -> list_articles).
    generated = {}
    for group in pkgutil.iter_modules(broadsheet_client.api.__path__):
        package = importlib.import_module(f"broadsheet_client.api.{group.name}")
        for module in pkgutil.iter_modules(package.__path__):
            generated[module.name] = importlib.import_module(f"{package.__name__}.{module.name}")
    operations = [
        op["operationId"]
        for item in paths.values()
        for op in item.values()
        if isinstance(op, dict) and "operationId" in op
    ]
    missing = []
    for op_id in operations:
        module = generated.get("".join("_" + c.lower() if c.isupper() else c for c in op_id))
        if module is None or not callable(getattr(module, "sync_detailed", None)):
            missing.append(op_id)
    check(len(operations) > 40, f"only {len(operations)} operations in the served document")
    check(not missing, f"operations without generated code: {missing}")
    check(len(generated) == len(operations), f"{len(generated)} modules for {len(operations)} operations")
    return f"{len(operations)} operations in the served document, each with a generated sync_detailed"


def articles_page_mode() -> str:
    listing = expect(list_articles.sync_detailed(client=public, per_page=3), 200, ArticleList)
    names = [k for k, _ in last_query()]
    check("page" not in names and "cursor" not in names, f"sent {last_query()}: a default leaked into the query")
    check(listing.meta.page == 1, f"meta.page {listing.meta.page!r}, expected 1 (page mode by default)")
    check(isinstance(listing.meta.total, int) and isinstance(listing.meta.total_pages, int), "no total in page mode")
    check(isinstance(listing.meta.next_cursor, Unset), "next_cursor in page mode")
    check(1 <= len(listing.data) <= 3, f"{len(listing.data)} items for per_page=3")
    for a in listing.data:
        check(isinstance(a.title, str) and isinstance(a.slug, str), "an item without a title or slug")
        check(isinstance(a.published_at, datetime.datetime), f"{a.slug}: published_at {a.published_at!r}")
        check(isinstance(a.body_html, Unset), f"{a.slug}: body_html in a list without fields=")
    check(isinstance(listing.links.next_, str), "links.next should point at page 2 of the demo content")
    query = "&".join(f"{k}={v}" for k, v in last_query())
    return f"?{query}: {len(listing.data)} of {listing.meta.total}, page 1 of {listing.meta.total_pages}"


def articles_cursor_mode() -> str:
    first = expect(list_articles.sync_detailed(client=public, cursor="", per_page=2), 200, ArticleList)
    names = [k for k, _ in last_query()]
    check(("cursor", "") in last_query() and "page" not in names, f"sent {last_query()}")
    check(isinstance(first.meta.page, Unset), f"meta.page {first.meta.page!r} in cursor mode")
    cursor = first.meta.next_cursor
    check(isinstance(cursor, str) and cursor != "", f"next_cursor {cursor!r} on the first of several pages")
    assert isinstance(cursor, str)
    second = expect(list_articles.sync_detailed(client=public, cursor=cursor, per_page=2), 200, ArticleList)
    one = [a.slug for a in first.data]
    two = [a.slug for a in second.data]
    check(len(one) == 2 and len(two) >= 1 and not set(one) & set(two), f"pages overlap: {one} / {two}")
    check(second.links.prev is None, "links.prev in cursor mode")
    return f"{one} then {two} (next_cursor {cursor[:12]}…)"


def read_article() -> str:
    response = get_article.sync_detailed(DEMO_SLUG, client=public)
    a = expect(response, 200, ArticleResponse)
    raw = json.loads(response.content)
    all_required(ArticleResponse, raw, "ArticleResponse")
    all_required(AuthorSummary, raw["author"], "AuthorSummary")
    for tag in raw["tags"]:
        all_required(TagSummary, tag, "TagSummary")
    check(a.additional_properties == {}, f"unparsed properties {sorted(a.additional_properties)}")
    check(a.slug == DEMO_SLUG and a.status == ArticleStatus.PUBLISHED, f"{a.slug} {a.status}")
    # The nullable ones, each with its own type.
    check(a.subtitle is None or isinstance(a.subtitle, str), f"subtitle {a.subtitle!r}")
    check(
        isinstance(a.published_at, datetime.datetime) and a.published_at.tzinfo is not None,
        f"published_at {a.published_at!r}",
    )
    check(isinstance(a.featured_image, FeaturedImage), f"featured_image {a.featured_image!r}")
    assert isinstance(a.featured_image, FeaturedImage)
    all_required(FeaturedImage, raw["featured_image"], "FeaturedImage")
    check(a.featured_image_url == a.featured_image.url, "featured_image_url is not featured_image.url")
    check(a.featured_image.width is None or isinstance(a.featured_image.width, int), "featured_image.width")
    check(isinstance(a.author, AuthorSummary), "author")
    check(
        a.author.avatar_url is None or a.author.avatar_url.startswith("https://"),
        f"author.avatar_url {a.author.avatar_url!r}",
    )
    check(all(isinstance(t, TagSummary) for t in a.tags) and len(a.tags) > 0, "tags")
    check(isinstance(a.comment_count, int) and isinstance(a.share_count, int), "counts")
    etag = response.headers.get("etag")
    check(etag is not None, "no ETag")
    again = get_article.sync_detailed(DEMO_SLUG, client=public, if_none_match=etag or "")
    check(again.status_code == 304, f"If-None-Match: {int(again.status_code)}, expected 304")
    state["article"] = a
    return (
        f'"{a.title[:40]}…" by {a.author.name} (avatar {a.author.avatar_url}), '
        f"published {a.published_at:%Y-%m-%d}, image {a.featured_image.width}x{a.featured_image.height}; "
        f"every property required; 304 on its ETag"
    )


def sparse_fields() -> str:
    fields = [ArticleField.SLUG, ArticleField.TITLE, ArticleField.PUBLISHED_AT]
    response = list_articles.sync_detailed(client=public, per_page=5, fields=fields)
    listing = expect(response, 200, ArticleList)
    sent_fields = [v for k, v in last_query() if k == "fields"]
    check(
        sorted(sent_fields) in (["published_at", "slug", "title"], ["slug,title,published_at"]),
        f"fields sent as {sent_fields}",
    )
    wire = "&".join(f"fields={v}" for v in sent_fields)
    for item in json.loads(response.content)["data"]:
        check(set(item) == {"slug", "title", "published_at"}, f"item has {sorted(item)}")
    for a in listing.data:
        check(
            isinstance(a.title, str) and isinstance(a.subtitle, Unset) and isinstance(a.author, Unset),
            f"{a.slug}: parsed with fields outside the selection",
        )
    # The single read takes the same list, and is then an ArticleSummary (the whole article
    # without it): the only way to get body_text.
    one_fields = [ArticleField.TITLE, ArticleField.BODY_TEXT]
    one = expect(get_article.sync_detailed(DEMO_SLUG, client=public, fields=one_fields), 200, ArticleSummary)
    check(
        isinstance(one.title, str) and isinstance(one.body_text, str) and len(one.body_text) > 0,
        f"title {one.title!r}, body_text {one.body_text!r}",
    )
    check(isinstance(one.slug, Unset) and one.additional_properties == {}, "fields outside the selection")
    whole = expect(get_article.sync_detailed(DEMO_SLUG, client=public), 200, ArticleResponse)
    check(whole.title == one.title, "the whole article has another title")
    return (
        f"sent as {wire}: {len(listing.data)} items with exactly slug, title, published_at; "
        f"one article with title and body_text ({len(one.body_text)} chars) as an ArticleSummary"
    )


def tags() -> str:
    response = list_tags.sync_detailed(client=public, per_page=50)
    listing = expect(response, 200, TagList)
    check("page" not in [k for k, _ in last_query()], f"sent {last_query()}")
    check(len(listing.data) > 0, "no tags in the demo content")
    for raw in json.loads(response.content)["data"]:
        all_required(TagResponse, raw, "TagResponse")
    for t in listing.data:
        check(t.description is None or isinstance(t.description, str), f"{t.slug}: description {t.description!r}")
        check(isinstance(t.article_count, int), f"{t.slug}: article_count")
    names = {t.slug for t in listing.data}
    article = state.get("article")
    if isinstance(article, ArticleResponse):
        check({t.slug for t in article.tags} <= names, "the article's tags are not all listed")
    return f"{len(listing.data)} tags ({', '.join(sorted(names)[:4])}, …), description null or text"


def authors() -> str:
    page = expect(list_authors.sync_detailed(client=public), 200, AuthorList)
    check("page" not in [k for k, _ in last_query()], f"sent {last_query()}: the page default is back")
    check(page.meta.page == 1 and len(page.data) > 0, f"meta.page {page.meta.page!r}, {len(page.data)} authors")
    response = list_authors.sync_detailed(client=public, cursor="")
    cursor_page = expect(response, 200, AuthorList)
    check({a.slug for a in cursor_page.data} == {a.slug for a in page.data}, "cursor mode lists other authors")
    for raw in json.loads(response.content)["data"]:
        all_required(AuthorResponse, raw, "AuthorResponse")
    first = page.data[0]
    one_response = get_author.sync_detailed(first.slug, client=public)
    one = expect(one_response, 200, AuthorResponse)
    all_required(AuthorResponse, json.loads(one_response.content), "AuthorResponse")
    check(one.id == first.id and one.article_count > 0, f"{one.slug}: {one.article_count} articles")
    check(one.website is None or isinstance(one.website, str), f"website {one.website!r}")
    check(one.social.twitter is None or isinstance(one.social.twitter, str), "social.twitter")
    return (
        f"{len(page.data)} authors in page mode and in cursor mode; {one.name}: {one.article_count} articles, "
        f"bio {'set' if one.bio else 'null'}, website {one.website!r}"
    )


def comments_and_shares() -> str:
    article = state["article"]
    response = list_comments.sync_detailed(DEMO_SLUG, client=public)
    listing = expect(response, 200, CommentList)
    for raw in json.loads(response.content)["data"]:
        all_required(CommentResponse, raw, "CommentResponse")
    check(len(listing.data) > 0, "the demo article has comments")
    for c in listing.data:
        check(c.article_id == article.id, f"comment {c.id} of article {c.article_id}")
        check(c.parent_id is None or isinstance(c.parent_id, int), f"comment {c.id}: parent_id {c.parent_id!r}")
        check(c.author_url is None or c.author_url.startswith("http"), f"comment {c.id}: author_url")
    replies = sum(1 for c in listing.data if c.parent_id is not None)
    shares = expect(get_share_counts.sync_detailed(DEMO_SLUG, client=public), 200, ShareCountsResponse)
    by_channel = shares.by_channel.to_dict()
    check(shares.total == sum(by_channel.values()), f"total {shares.total} != sum {by_channel}")
    check(shares.total >= article.share_count, f"total {shares.total} < share_count {article.share_count}")
    return f"{len(listing.data)} comments ({replies} replies); {shares.total} shares, {by_channel['email']} by email"


def sign_in() -> str:
    check(password is not None, "set BROADSHEET_PASSWORD to the demo admin's password")
    body = LoginRequest(email=email, password=password or "")
    tokens = expect(login.sync_detailed(client=public, body=body), 200, TokenResponse)
    check(tokens.token_type.lower() == "bearer" and tokens.expires_in > 0, f"{tokens.token_type} {tokens.expires_in}")
    editor = AuthenticatedClient(
        base_url=base_url, token=tokens.access_token, raise_on_unexpected_status=True, httpx_args=httpx_args
    )
    state["editor"] = editor
    response = get_me.sync_detailed(client=editor)
    me = expect(response, 200, EditorResponse)
    all_required(EditorResponse, json.loads(response.content), "EditorResponse")
    check(me.email == email and me.role == Role.ADMIN, f"{me.email} {me.role}")
    return f"{me.name} <{me.email}> ({me.role}), token for {tokens.expires_in}s"


def draft_and_patch() -> str:
    editor: AuthenticatedClient = state["editor"]
    body = CreateArticleRequest(
        title="A draft from the Python client",
        subtitle="openapi-python-client wrote this",
        body_markdown="First paragraph.\n\n> [!PULLQUOTE]\n> Generated, typed, sent.",
        tags=["Transport"],
        status=ArticleStatus.DRAFT,
    )
    created_response = create_article.sync_detailed(client=editor, body=body)
    draft = expect(created_response, 201, ArticleResponse)
    state["draft_id"] = draft.id
    all_required(ArticleResponse, json.loads(created_response.content), "ArticleResponse (201)")
    check(
        draft.status == ArticleStatus.DRAFT and draft.published_at is None,
        f"{draft.status} published_at {draft.published_at!r}: a draft never published has null",
    )
    check(draft.featured_image is None and draft.featured_image_url is None, "a draft without an image")
    check(draft.pull_quotes == ["Generated, typed, sent."], f"pull_quotes {draft.pull_quotes}")
    check(
        created_response.headers.get("location", "").endswith(f"/admin/articles/{draft.id}"),
        f"Location {created_response.headers.get('location')}",
    )
    etag = created_response.headers.get("etag", "")

    patched_response = update_article.sync_detailed(
        draft.id, client=editor, body=UpdateArticleRequest(title="A retitled draft"), if_match=etag
    )
    patched = expect(patched_response, 200, ArticleResponse)
    check(patched.title == "A retitled draft" and patched.subtitle == draft.subtitle, f"{patched.title!r}")
    # Null clears a nullable field: the generated model sends `"subtitle": null`, not an omission.
    cleared = expect(
        update_article.sync_detailed(draft.id, client=editor, body=UpdateArticleRequest(subtitle=None)),
        200,
        ArticleResponse,
    )
    check(cleared.subtitle is None and cleared.title == "A retitled draft", f"subtitle {cleared.subtitle!r}")
    return f"created {draft.id} ({draft.status}, published_at null), retitled with If-Match, subtitle cleared with null"


def null_title_refused() -> str:
    editor: AuthenticatedClient = state["editor"]
    draft_id: int = state["draft_id"]
    # The spec says title cannot be null: the generated type has no None in it.
    title_type = UpdateArticleRequest.__annotations__["title"]
    subtitle_type = UpdateArticleRequest.__annotations__["subtitle"]
    check("None" not in title_type, f"UpdateArticleRequest.title is typed {title_type}")
    check("None" in subtitle_type, f"UpdateArticleRequest.subtitle is typed {subtitle_type}")
    # So the typed model cannot send it (the body refuses unknown properties
    # too): a careless script sends it raw, through the client's own
    # connection, and the answer is parsed with the generated Problem model.
    raw = editor.get_httpx_client().patch(f"/api/v1/admin/articles/{draft_id}", json={"title": None})
    check(json.loads(sent[-1].content) == {"title": None}, f"sent {sent[-1].content!r}")
    check(raw.status_code == 422, f"expected 422, got {raw.status_code}: {raw.text[:300]!r}")
    check(
        raw.headers.get("content-type", "").startswith("application/problem+json"),
        f"content-type {raw.headers.get('content-type')}",
    )
    problem = Problem.from_dict(raw.json())
    check(problem.status == 422 and problem.code == "validation_failed", f"{problem.status} {problem.code}")
    errors = problem.errors if not isinstance(problem.errors, Unset) else None
    check(
        bool(errors) and any(e.field == "title" for e in errors or []),
        f"errors {[(e.field, e.message) for e in errors or []]}",
    )
    title_error = next(e for e in errors or [] if e.field == "title")
    after = expect(get_admin_article.sync_detailed(draft_id, client=editor), 200, ArticleResponse)
    check(after.title == "A retitled draft", f"title became {after.title!r}")
    return f'{{"title": null}} -> 422 {problem.code}, title: "{title_error.message}"; the title is unchanged'


def clean_up() -> str:
    editor: AuthenticatedClient = state["editor"]
    draft_id: int = state["draft_id"]
    response = delete_article.sync_detailed(draft_id, client=editor)
    check(response.status_code == 204, f"DELETE: {int(response.status_code)}")
    gone = get_admin_article.sync_detailed(draft_id, client=editor)
    check(gone.status_code == 404 and isinstance(gone.parsed, Problem), f"after DELETE: {int(gone.status_code)}")
    return f"draft {draft_id} deleted (404 after)"


print(f"broadsheet_client against {base_url}")
step("every operation generated", every_operation_generated)
step("articles, page mode without page", articles_page_mode)
step("articles, cursor mode", articles_cursor_mode)
step(f"article {DEMO_SLUG}", read_article)
step("articles with fields=[…]", sparse_fields)
step("tags", tags)
step("authors", authors)
step("comments and share counts", comments_and_shares)
step("sign in as the demo admin", sign_in)
for name, run in [
    ("draft, then PATCH", draft_and_patch),
    ("PATCH title null", null_title_refused),
    ("clean up", clean_up),
]:
    # (each needs the sign-in, the last two the draft: a KeyError fails them too)
    step(name, run)
print(f"{failures} step(s) failed" if failures else "all steps passed")
sys.exit(1 if failures else 0)
