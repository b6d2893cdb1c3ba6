// The JavaScript SDK's uploadFile on the same file, with the agent's block size and concurrency, for bench/upload.sh.
// Usage: node upload-js.mjs CONNECTION_STRING CONTAINER FILE BLOB_NAME ; prints the upload's seconds.
import { BlobServiceClient } from "@azure/storage-blob";

const [connection, container, file, name] = process.argv.slice(2);
const blob = BlobServiceClient.fromConnectionString(connection).getContainerClient(container).getBlockBlobClient(name);
const start = process.hrtime.bigint();
await blob.uploadFile(file, { blockSize: 4 * 1024 * 1024, concurrency: 2, conditions: { ifNoneMatch: "*" } });
console.log((Number(process.hrtime.bigint() - start) / 1e9).toFixed(3));
