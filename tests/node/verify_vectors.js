// The provider's documented manual verification (webhooks overview page), run over our vectors.
// It is reproduced in spirit: HMAC-SHA256 hex of the payload, compared with timingSafeEqual
// against `sha256=${expected}`. timingSafeEqual throws when lengths differ; we report that as
// "threw" so the Python test can see it (a receiver that copied this code answers 500 there).
const crypto = require('crypto');
const fs = require('fs');

function verifyWebhook(payload, signature, secret) {
  const expectedSignature = crypto.createHmac('sha256', secret).update(payload).digest('hex');
  return crypto.timingSafeEqual(Buffer.from(signature), Buffer.from(`sha256=${expectedSignature}`));
}

const vectors = JSON.parse(fs.readFileSync(process.argv[2], 'utf8')).vectors;
const results = {};
for (const v of vectors) {
  try {
    results[v.name] = verifyWebhook(v.payload, v.signature, v.secret);
  } catch (err) {
    results[v.name] = 'threw';
  }
}
process.stdout.write(JSON.stringify(results));
