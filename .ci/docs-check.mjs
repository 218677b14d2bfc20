// The /docs page in a real browser: headless Debian Chromium, driven by
// playwright-core (no browser download), against a running server.
//
//   node .ci/docs-check.mjs http://127.0.0.1:PORT [screenshot.png]
//
// Passes when Swagger UI renders one block per operation of the server's
// OpenAPI document, shows every operationId and summary, and does so under
// the Content-Security-Policy the server sends: no CSP violation, no script
// error, and no request to any other origin (the page works offline).

import { mkdtempSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";

const require = createRequire(join(import.meta.dirname, "tools", "package.json"));
const { chromium } = require("playwright-core");

const base = process.argv[2];
const screenshot = process.argv[3];
if (!base) {
  console.error("usage: node .ci/docs-check.mjs BASE_URL [screenshot.png]");
  process.exit(2);
}
const origin = new URL(base).origin;
const problems = [];

const spec = await (await fetch(`${origin}/api/v1/openapi.json`)).json();
const operations = [];
for (const [path, item] of Object.entries(spec.paths)) {
  for (const [method, op] of Object.entries(item)) {
    operations.push({ method, path, id: op.operationId, summary: op.summary });
  }
}

const profile = mkdtempSync(join(tmpdir(), "broadsheet-docs-chromium-"));
const context = await chromium.launchPersistentContext(profile, {
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  headless: true,
  args: [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
  ],
});
try {
  const page = context.pages()[0] ?? (await context.newPage());
  // Record CSP violations from inside the page (the init script is injected
  // by the driver, so the policy itself does not block it).
  await page.addInitScript(() => {
    window.__cspViolations = [];
    document.addEventListener("securitypolicyviolation", (e) => {
      window.__cspViolations.push(`${e.violatedDirective} blocked ${e.blockedURI || "inline"} (${e.sourceFile}:${e.lineNumber})`);
    });
  });
  page.on("console", (m) => {
    if (m.type() === "error") problems.push(`console error: ${m.text()}`);
  });
  page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
  // The page must need nothing but this server.
  await page.route("**/*", (route) => {
    const url = route.request().url();
    if (url.startsWith(origin) || url.startsWith("data:")) return route.continue();
    problems.push(`request to another origin: ${url}`);
    return route.abort();
  });

  const response = await page.goto(`${origin}/docs`, { waitUntil: "load" });
  const csp = (await response.allHeaders())["content-security-policy"] ?? "";
  if (!page.url().endsWith("/docs/")) problems.push(`/docs should redirect to /docs/, ended at ${page.url()}`);
  if (!csp.includes("script-src 'self'")) problems.push(`the docs page has no strict script-src: "${csp}"`);
  if (/script-src[^;]*'unsafe-(inline|eval)'/.test(csp)) problems.push(`script-src allows unsafe code: "${csp}"`);

  await page
    .waitForFunction((n) => document.querySelectorAll(".opblock").length >= n, operations.length, { timeout: 20000 })
    .catch(() => {});
  const rendered = await page.locator(".opblock").count();
  if (rendered !== operations.length) {
    problems.push(`expected ${operations.length} operations rendered, found ${rendered}`);
  }
  const ids = await page.locator(".opblock-summary-operation-id").allTextContents();
  const summaries = await page.locator(".opblock-summary-description").allTextContents();
  const missing = operations.filter((o) => !ids.includes(o.id) || !summaries.includes(o.summary));
  for (const o of missing) problems.push(`not shown: ${o.method.toUpperCase()} ${o.path} (${o.id}: "${o.summary}")`);
  const title = await page.locator(".info .title").first().textContent().catch(() => "");
  if (!title?.includes(spec.info.title)) problems.push(`title "${spec.info.title}" not shown (got "${title}")`);

  const violations = await page.evaluate(() => window.__cspViolations);
  for (const v of violations) problems.push(`CSP violation: ${v}`);
  if (screenshot) await page.screenshot({ path: screenshot, fullPage: true });

  console.log(`docs: ${rendered}/${operations.length} operations rendered, ${operations.length - missing.length}/${operations.length} operationIds and summaries shown`);
  console.log(`docs: CSP "${csp}"`);
  console.log(`docs: ${violations.length} CSP violations, ${problems.length} problems`);
} finally {
  await context.close();
  rmSync(profile, { recursive: true, force: true });
}

if (problems.length > 0) {
  for (const p of problems) console.error(`docs: FAIL ${p}`);
  process.exit(1);
}
console.log("docs: OK");
