// A loopback HTTP proxy that holds every request DELAY_MS before passing it on to 127.0.0.1:TARGET_PORT (a storage
// account in another zone, in front of Azurite), for bench/report-scale.sh. It counts the requests it passed and
// prints the count on SIGTERM. Usage: node latency-proxy.mjs LISTEN_PORT TARGET_PORT DELAY_MS
import http from "node:http";

const [listenPort, targetPort, delay] = process.argv.slice(2).map(Number);
const agent = new http.Agent({ keepAlive: true, maxSockets: 512 });
let requests = 0;
const server = http.createServer((request, response) => {
  requests++;
  setTimeout(() => {
    const upstream = http.request(
      { host: "127.0.0.1", port: targetPort, method: request.method, path: request.url, headers: request.headers, agent },
      (answer) => {
        response.writeHead(answer.statusCode, answer.headers);
        answer.pipe(response);
      });
    upstream.on("error", (error) => {
      response.writeHead(502);
      response.end(String(error));
    });
    request.pipe(upstream);
  }, delay);
});
server.keepAliveTimeout = 60000;
server.listen(listenPort, "127.0.0.1");
process.on("SIGTERM", () => {
  console.log(requests);
  process.exit(0);
});
