// The JavaScript SDK reading a run the simple way, for bench/report-scale.sh: list the run's blobs, then download every
// one of them whole (status records and zips), IN_FLIGHT at once. Prints the seconds and the bytes downloaded.
// Usage: node download-js.mjs CONNECTION_STRING CONTAINER RUN_ID [IN_FLIGHT=32]
import { BlobServiceClient } from "@azure/storage-blob";

const [connection, containerName, runId, inFlight = "32"] = process.argv.slice(2);
const container = BlobServiceClient.fromConnectionString(connection).getContainerClient(containerName);
const start = process.hrtime.bigint();
const names = [];
for await (const blob of container.listBlobsFlat({ prefix: `${runId}/` })) {
  names.push(blob.name);
}

let next = 0;
let bytes = 0;
async function worker() {
  while (next < names.length) {
    const name = names[next++];
    const buffer = await container.getBlobClient(name).downloadToBuffer();
    bytes += buffer.length;
  }
}

await Promise.all(Array.from({ length: Number(inFlight) }, worker));
console.log(`${(Number(process.hrtime.bigint() - start) / 1e9).toFixed(3)} ${bytes} ${names.length}`);
