// The README's quick start through openapi-fetch, typed by openapi-typescript from openapi.yaml
// (as `cargo xtask clients` generates it: `schema.d.ts` beside this file in
// target/clients/typescript). Usage: node quickstart.js BASE_URL HOOK_URL
//
// It stops at the first unexpected answer, printing it, and exits non-zero.
import createClient from "openapi-fetch";
import type { paths } from "./schema.js";

function expect<T>(result: { data?: T; error?: unknown; response: Response }, status: number): T {
  const data = result.data;
  if (result.response.status !== status || data === undefined) {
    console.error(`expected ${status}, got ${result.response.status}:`, JSON.stringify(result.error));
    process.exit(1);
  }
  return data;
}

async function main(baseUrl: string, hookUrl: string): Promise<void> {
  const client = createClient<paths>({ baseUrl });
  // 1. An account and an API key for your backend (the key is shown this once).
  const session = expect(
    await client.POST("/v1/auth/register", {
      body: { email: `typescript-${Date.now()}@example.com`, name: "TypeScript", password: "a long passphrase" },
    }),
    201,
  );
  const user = { Authorization: `Bearer ${session.token}` };
  const key = expect(await client.POST("/v1/api-keys", { headers: user, body: { name: "backend" } }), 201);
  const backend = { "X-API-Key": key.key };

  // 2. A bot, and an FAQ it answers from (multipart: a file and the metadata's JSON).
  const bot = expect(await client.POST("/v1/bots", { headers: backend, body: { name: "Support" } }), 201);
  const faq = 'question,answer\n"What are your opening hours?","We are open 9 to 5, Monday to Friday."\n';
  const document = expect(
    await client.POST("/v1/bots/{bot_id}/documents", {
      headers: backend,
      params: { path: { bot_id: bot.id } },
      body: { file: "faq.csv", metadata: { title: "FAQ" } },
      bodySerializer: () => {
        const form = new FormData();
        form.append("file", new Blob([faq], { type: "text/csv" }), "faq.csv");
        form.append("metadata", JSON.stringify({ title: "FAQ" }));
        return form;
      },
    }),
    201,
  );
  console.log(`document ${document.title}: ${document.status}`);

  // 3. A webhook (its signing secret is shown this once).
  const hook = expect(
    await client.POST("/v1/bots/{bot_id}/webhooks", {
      headers: backend,
      params: { path: { bot_id: bot.id } },
      // openapi-typescript types a field with a default as required (its `defaultNonNullable`).
      body: { url: hookUrl, events: ["message.received"], enabled: true },
    }),
    201,
  );
  if (!hook.secret.startsWith("whsec_")) throw new Error(`a webhook secret: ${hook.secret}`);

  // 4. Chat, and the session's history.
  const reply = expect(
    await client.POST("/v1/chat", {
      headers: backend,
      body: { bot_id: bot.id, session_id: "user-1", message: "When are you open?" },
    }),
    200,
  );
  console.log(`reply: ${reply.reply}`);
  if (!(reply.reply ?? "").includes("9 to 5")) throw new Error(`the FAQ's answer: ${JSON.stringify(reply)}`);
  const history = expect(
    await client.GET("/v1/bots/{bot_id}/sessions/{session_id}/messages", {
      headers: backend,
      params: { path: { bot_id: bot.id, session_id: "user-1" } },
    }),
    200,
  );
  const roles = history.data.map((message) => message.role).join(",");
  if (roles !== "user,assistant") throw new Error(`the history: ${roles}`);
  console.log("typescript client: quick start passed");
}

main(process.argv[2], process.argv[3]).catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
