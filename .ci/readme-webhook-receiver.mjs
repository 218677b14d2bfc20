// Runs the README's webhook receiver ("Webhooks: rebuild or purge when
// content changes") as written, with the Standard Webhooks specification's
// own npm library, behind a plain node:http server:
//
//   BROADSHEET_WEBHOOK_SECRET=whsec_… node .ci/readme-webhook-receiver.mjs PORT
//
// Each request is handed to the README's `POST(request)` as a fetch
// `Request`; a verified one gets the handler's answer (204), a forged or
// stale one (the library throws) a 401. One JSON line per request on
// stdout: {type, verified, status}. The README block is copied into a
// module beside .ci/tools/node_modules, where `standardwebhooks` resolves.
import { readFileSync, writeFileSync, rmSync } from "node:fs";
import { createServer } from "node:http";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const port = Number(process.argv[2]);
if (!port) {
  console.error("usage: node .ci/readme-webhook-receiver.mjs PORT");
  process.exit(2);
}

const readme = readFileSync(join(root, "README.md"), "utf8");
const section = readme.split("### Webhooks: rebuild or purge when content changes")[1];
const block = section && section.split("```js\n")[1]?.split("\n```")[0];
if (!block) {
  console.error("README has no webhook receiver block");
  process.exit(1);
}
// What the README leaves to the reader: the rebuild itself.
const module = `globalThis.__rebuilt = [];
const rebuild = async (slug, keys) => { globalThis.__rebuilt.push({ slug, keys }); };
${block}
`;
const file = join(root, ".ci", "tools", ".readme-webhook-receiver.generated.mjs");
writeFileSync(file, module);
const { POST } = await import(pathToFileURL(file).href);
rmSync(file);

createServer((req, res) => {
  const chunks = [];
  req.on("data", (c) => chunks.push(c));
  req.on("end", async () => {
    const body = Buffer.concat(chunks).toString("utf8");
    const request = new Request(`http://127.0.0.1:${port}${req.url}`, {
      method: "POST",
      headers: req.headers,
      body,
    });
    let status, verified;
    try {
      const answer = await POST(request);
      status = answer.status;
      verified = true;
    } catch (e) {
      status = 401;
      verified = false;
    }
    let type = null;
    try {
      type = JSON.parse(body).type;
    } catch {}
    console.log(JSON.stringify({ type, verified, status }));
    res.writeHead(status).end();
  });
}).listen(port, "127.0.0.1");
