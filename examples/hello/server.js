// A tiny HTTP service for the nexus example workspace: no dependencies.
import { createServer } from "node:http";

const port = Number(process.env.PORT ?? 3000);
createServer((req, res) => {
  if (req.url === "/health") {
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify({ ok: true }));
    return;
  }
  res.writeHead(200, { "content-type": "text/plain" });
  res.end(`hello from ${process.env.HOSTNAME ?? "nexus"}\n`);
}).listen(port, "0.0.0.0", () => console.log(`listening on ${port}`));
