// How many requests a second the Blob endpoint serves here, for bench/report-scale.sh: REQUESTS ranged reads of the
// first KiB of the run's zips, IN_FLIGHT at once (the collector's default bound). Prints requests per second.
// Usage: node azurite-ceiling.mjs CONNECTION_STRING CONTAINER RUN_ID [REQUESTS=5000] [IN_FLIGHT=64]
import { BlobServiceClient } from "@azure/storage-blob";

const [connection, containerName, runId, requests = "5000", inFlight = "64"] = process.argv.slice(2);
const container = BlobServiceClient.fromConnectionString(connection).getContainerClient(containerName);
const zips = [];
for await (const blob of container.listBlobsFlat({ prefix: `${runId}/` })) {
  if (blob.name.endsWith(".zip")) {
    zips.push(blob.name);
  }
}

let next = 0;
const total = Number(requests);
async function worker() {
  while (next < total) {
    const name = zips[next++ % zips.length];
    const response = await container.getBlobClient(name).download(0, 1024);
    for await (const _ of response.readableStreamBody) {
      // drain
    }
  }
}

const start = process.hrtime.bigint();
await Promise.all(Array.from({ length: Number(inFlight) }, worker));
const seconds = Number(process.hrtime.bigint() - start) / 1e9;
console.log((total / seconds).toFixed(0));
