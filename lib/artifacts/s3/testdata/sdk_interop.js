// The AWS SDK's S3 client against a local S3-compatible server, for interop
// checks: an object Argonaut wrote is read by the SDK and the other way round.
//
// Usage: node sdk_interop.js ENDPOINT BUCKET put KEY FILE
//        node sdk_interop.js ENDPOINT BUCKET get KEY FILE
// ENDPOINT is http://host:port; credentials are s3rver's (S3RVER/S3RVER).
'use strict';
const fs = require('fs');
const {S3Client, PutObjectCommand, GetObjectCommand} = require('@aws-sdk/client-s3');

async function main() {
  const [endpoint, bucket, op, key, file] = process.argv.slice(2);
  const client = new S3Client({
    endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: {accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER'},
    // Newer SDKs send CRC32 trailers in aws-chunked bodies by default, which
    // s3rver would store as part of the object.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  if (op === 'put') {
    const size = fs.statSync(file).size;
    await client.send(new PutObjectCommand(
        {Bucket: bucket, Key: key, Body: fs.createReadStream(file), ContentLength: size}));
  } else if (op === 'get') {
    const out = await client.send(new GetObjectCommand({Bucket: bucket, Key: key}));
    await new Promise((resolve, reject) => {
      const w = fs.createWriteStream(file);
      out.Body.pipe(w);
      w.on('finish', resolve);
      w.on('error', reject);
      out.Body.on('error', reject);
    });
  } else {
    throw new Error('unknown op ' + op);
  }
}

main().catch((e) => {
  console.error(String(e && e.stack || e));
  process.exit(1);
});
