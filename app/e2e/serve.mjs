// Serves a built site (trunk's dist/) on 127.0.0.1 at a free port, with the MIME types the
// page needs (application/wasm for streaming compilation), counting the requests for each path.
import { createServer } from "node:http";
import { readFile } from "node:fs/promises";
import { extname, join, normalize } from "node:path";

const TYPES = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript",
  ".wasm": "application/wasm",
  ".json": "application/json",
  ".css": "text/css",
};

/** Starts serving `root`; resolves to { url, requests(path), close }. */
export async function serve(root) {
  const counts = new Map();
  const server = createServer(async (request, response) => {
    const path = normalize(decodeURIComponent(new URL(request.url, "http://x").pathname));
    counts.set(path, (counts.get(path) ?? 0) + 1);
    const file = join(root, path.endsWith("/") ? join(path, "index.html") : path);
    try {
      const body = await readFile(file);
      const type = TYPES[extname(file)] ?? "application/octet-stream";
      response.writeHead(200, { "content-type": type });
      response.end(body);
    } catch {
      response.writeHead(404);
      response.end();
    }
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address();
  return {
    url: `http://127.0.0.1:${port}/`,
    requests: (path) => counts.get(path) ?? 0,
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}
