// A typed Broadsheet client, end to end: what a frontend team writes.
//
//   npm ci && npm run build     # types from ../../openapi/openapi.json, then tsc --strict
//   BROADSHEET_URL=http://127.0.0.1:8080 BROADSHEET_PASSWORD=… npm start
//
// Every path, parameter, body and response below is checked by the compiler
// against src/schema.d.ts, which openapi-typescript generates from the
// committed OpenAPI document. A wrong field name does not compile.

import createClient, { type Middleware } from "openapi-fetch";

import type { components, paths as GeneratedPaths } from "./schema.js";

type Problem = components["schemas"]["Problem"];

// --- Routes fixed by the API contract that this spec may not have yet -----
//
// Comments and shares are part of the contract (docs/API.md in this
// repository). Where openapi.json lacks a route, these hand-written types
// stand in for it;
// `Omit<…, keyof GeneratedPaths>` drops each stand-in as soon as the
// generated types have the real path, so from then on the calls below are
// checked against the server's own description.

type JsonResponse<T> = { headers: { [name: string]: unknown }; content: { "application/json": T } };
type ProblemResponse = { headers: { [name: string]: unknown }; content: { "application/problem+json": Problem } };
type NoOtherMethods = {
  get?: never;
  put?: never;
  delete?: never;
  options?: never;
  head?: never;
  patch?: never;
  trace?: never;
};
type SlugPath = { query?: never; header?: never; path: { slug: string }; cookie?: never };

interface ContractPaths {
  "/api/v1/articles/{slug}/comments": NoOtherMethods & {
    parameters: { query?: never; header?: never; path?: never; cookie?: never };
    post: {
      parameters: SlugPath;
      requestBody: {
        content: {
          "application/json": {
            author_name: string;
            author_email: string;
            author_url?: string | null;
            body: string;
            parent_id?: number | null;
          };
        };
      };
      responses: {
        201: JsonResponse<{ id: number; status: string }>;
        202: JsonResponse<{ id: number; status: string }>;
        404: ProblemResponse;
        422: ProblemResponse;
      };
    };
  };
  "/api/v1/articles/{slug}/shares": NoOtherMethods & {
    parameters: { query?: never; header?: never; path?: never; cookie?: never };
    post: {
      parameters: SlugPath;
      requestBody: { content: { "application/json": { channel: "email" } } };
      responses: {
        202: JsonResponse<Record<string, unknown>>;
        404: ProblemResponse;
        422: ProblemResponse;
      };
    };
  };
}

type Paths = GeneratedPaths & Omit<ContractPaths, keyof GeneratedPaths>;

// --- Set-up ---------------------------------------------------------------

const baseUrl = process.env.BROADSHEET_URL ?? "http://127.0.0.1:8080";
const email = process.env.BROADSHEET_EMAIL ?? "admin@broadsheet.test";
const password = process.env.BROADSHEET_PASSWORD;

const api = createClient<Paths>({
  baseUrl,
  // The spec describes `fields` as `style: form, explode: false`:
  // `fields=id,slug,title`, not `fields=id&fields=slug&…`.
  querySerializer: { array: { style: "form", explode: false } },
});

// Log each call with the id the server gave it: the id to quote in a bug report.
const logRequests: Middleware = {
  onResponse({ request, response }) {
    const { pathname, search } = new URL(request.url);
    console.log(`  ${request.method} ${pathname}${search} -> ${response.status} (X-Request-Id ${response.headers.get("x-request-id")})`);
  },
};
api.use(logRequests);

let failures = 0;

function fail(step: string, error: unknown, response: Response): never {
  const problem = error as Partial<Problem> | undefined;
  throw new Error(`${step}: HTTP ${response.status} ${problem?.code ?? ""} ${problem?.detail ?? JSON.stringify(error)}`);
}

async function step(name: string, run: () => Promise<void>): Promise<void> {
  console.log(`\n== ${name}`);
  try {
    await run();
  } catch (e) {
    failures += 1;
    console.error(`FAILED: ${e instanceof Error ? e.message : String(e)}`);
  }
}

// --- The session ----------------------------------------------------------

let slug = "";
let authorSlug = "";
let documentedPaths: string[] = [];

await step("Which routes does this server describe?", async () => {
  const { data, error, response } = await api.GET("/api/v1/openapi.json");
  if (!data) fail("openapi.json", error, response);
  documentedPaths = Object.keys((data as { paths?: object }).paths ?? {});
  console.log(`  ${documentedPaths.length} paths documented`);
});

await step("List the newest articles (page mode, sparse fields)", async () => {
  const { data, error, response } = await api.GET("/api/v1/articles", {
    params: { query: { per_page: 3, fields: ["slug", "title", "published_at", "tags"] } },
  });
  if (!data) fail("list articles", error, response);
  for (const article of data.data) {
    const tags = (article.tags ?? []).map((t) => t.name).join(", ");
    console.log(`  ${article.published_at}  ${article.title}  [${tags}]`);
  }
  console.log(`  page ${data.meta.page} of ${data.meta.total_pages}; next: ${data.links.next ?? "none"}`);
  const first = data.data[0]?.slug;
  if (!first) throw new Error("the demo content has no published article");
  slug = first;
});

await step("Walk the same list in cursor mode", async () => {
  const { data, error, response } = await api.GET("/api/v1/articles", {
    params: { query: { cursor: "", per_page: 2, fields: ["slug"] } },
  });
  if (!data) fail("cursor page", error, response);
  console.log(`  ${data.data.map((a) => a.slug).join(", ")}; next_cursor: ${data.meta.next_cursor ?? "null (last page)"}`);
});

await step("Read the JSON feed, as a feed reader does", async () => {
  const { data, error, response } = await api.GET("/api/v1/feeds/json");
  if (!data) fail("JSON feed", error, response);
  // The document types the feed as an object; JSON Feed 1.1 says the rest.
  const feed = data as { version: string; title: string; items: { title: string; url: string }[] };
  console.log(`  ${feed.title} (${feed.version}, ${response.headers.get("content-type")}): ${feed.items.length} items`);
  for (const item of feed.items.slice(0, 3)) {
    console.log(`  ${item.title}  ${item.url}`);
  }
});

await step("Read one article, then revalidate it with its ETag", async () => {
  const { data, error, response } = await api.GET("/api/v1/articles/{slug}", {
    params: { path: { slug } },
  });
  if (!data) fail("read article", error, response);
  // Typed ArticleResponse | ArticleSummary (with `fields=` only those are
  // sent); without `fields` it is the whole article, author included.
  if (!data.author) throw new Error("the whole article has no author");
  authorSlug = data.author.slug;
  console.log(`  "${data.title}" — ${data.subtitle ?? "(no standfirst)"}`);
  console.log(`  by ${data.author.name}, ${data.reading_time_minutes} min, ${data.comment_count} comments, ${data.share_count} shares`);
  const etag = response.headers.get("etag");
  if (!etag) throw new Error("a public GET must send an ETag");
  const again = await api.GET("/api/v1/articles/{slug}", {
    params: { path: { slug }, header: { "If-None-Match": etag } },
  });
  if (again.response.status !== 304) throw new Error(`expected 304 with If-None-Match, got ${again.response.status}`);
  console.log("  304 Not Modified: the cached copy is current");
});

await step("Render the author's page: profile, then their articles", async () => {
  const { data, error, response } = await api.GET("/api/v1/authors/{slug}", {
    params: { path: { slug: authorSlug } },
  });
  if (!data) fail("author page", error, response);
  console.log(`  ${data.name} (${data.url}): ${data.article_count} published`);
  console.log(`  ${data.bio ?? "(no bio)"}`);
  console.log(`  avatar: ${data.avatar_url ?? "none"}; website: ${data.website ?? "none"}`);
  const list = await api.GET("/api/v1/articles", {
    params: { query: { author: authorSlug, per_page: 5, fields: ["title", "url"] } },
  });
  if (!list.data) fail("author's articles", list.error, list.response);
  if (list.data.data.length === 0) throw new Error("an author on the author list has published articles");
  for (const article of list.data.data) {
    console.log(`  - ${article.title ?? "?"}  ${article.url ?? ""}`);
  }
});

await step("A missing article is a typed problem", async () => {
  const { data, error, response } = await api.GET("/api/v1/articles/{slug}", {
    params: { path: { slug: "no-such-article" } },
  });
  if (data || response.status !== 404) throw new Error(`expected 404, got ${response.status}`);
  // `error` is typed as the Problem schema: branch on the stable `code`.
  if (error?.code !== "not_found") throw new Error(`expected code not_found, got ${error?.code}`);
  console.log(`  ${response.status} ${error.code}: ${error.detail}`);
});

const COMMENTS = "/api/v1/articles/{slug}/comments";
const SHARES = "/api/v1/articles/{slug}/shares";

await step("Post a comment", async () => {
  if (!documentedPaths.includes(COMMENTS)) {
    console.log(`  SKIPPED: POST ${COMMENTS} is not in this server's OpenAPI document yet; this step runs once it is.`);
    return;
  }
  const { data, error, response } = await api.POST(COMMENTS, {
    params: { path: { slug } },
    body: {
      author_name: "Ana Ruiz",
      author_email: "ana@example.com",
      body: "Well argued, but the numbers in the third paragraph are from 2019.",
    },
  });
  if (!data) fail("post comment", error, response);
  console.log(`  comment ${data.id} is ${data.status} (${response.status === 202 ? "held for moderation" : "published"})`);
});

await step("Share the article by email", async () => {
  if (!documentedPaths.includes(SHARES)) {
    console.log(`  SKIPPED: POST ${SHARES} is not in this server's OpenAPI document yet; this step runs once it is.`);
    return;
  }
  const { data, error, response } = await api.POST(SHARES, {
    params: { path: { slug } },
    body: { channel: "email" },
  });
  if (!data) fail("share", error, response);
  console.log(`  recorded: ${JSON.stringify(data)}`);
});

await step("Sign in and write a draft", async () => {
  if (!password) throw new Error("set BROADSHEET_PASSWORD to the editor's password");
  const login = await api.POST("/api/v1/auth/login", { body: { email, password } });
  if (!login.data) fail("login", login.error, login.response);
  console.log(`  signed in; the access token expires in ${login.data.expires_in}s`);
  const auth = { Authorization: `Bearer ${login.data.access_token}` };

  const me = await api.GET("/api/v1/auth/me", { headers: auth });
  if (!me.data) fail("me", me.error, me.response);
  console.log(`  I am ${me.data.name} (${me.data.role})`);

  const created = await api.POST("/api/v1/admin/articles", {
    headers: auth,
    body: {
      title: "Why the night bus matters",
      subtitle: "A typed client wrote this draft",
      body_markdown: "First paragraph.\n\n> A pull quote.",
      tags: ["Transport"],
      status: "draft",
    },
  });
  if (!created.data) fail("create draft", created.error, created.response);
  const draft = created.data;
  console.log(`  created draft ${draft.id} "${draft.slug}" (${draft.status}) at ${created.response.headers.get("location")}`);

  // Tidy up, so running this again against a dev server leaves no drafts behind.
  const removed = await api.DELETE("/api/v1/admin/articles/{id}", {
    headers: auth,
    params: { path: { id: draft.id } },
  });
  if (removed.response.status !== 204) fail("delete draft", removed.error, removed.response);
  console.log(`  deleted draft ${draft.id}`);
});

if (failures > 0) {
  console.error(`\n${failures} step(s) failed`);
  process.exit(1);
}
console.log("\nall steps passed");
