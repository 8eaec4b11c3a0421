// An LMIF webhook receiver in Express, after the provider's own example, with its one trap fixed:
// crypto.timingSafeEqual throws when the two buffers differ in length, so lengths are compared
// first and a wrong-length signature gets a 401 instead of a crash (500).
const crypto = require('crypto');
const express = require('express');

const secret = process.env.LMIF_WEBHOOK_SECRET;
if (!secret) {
  console.error('set LMIF_WEBHOOK_SECRET');
  process.exit(2);
}

function verifyWebhook(payload, signature, key) {
  const expected = Buffer.from(
    'sha256=' + crypto.createHmac('sha256', key).update(payload).digest('hex'),
  );
  const given = Buffer.from(signature || '');
  return given.length === expected.length && crypto.timingSafeEqual(given, expected);
}

const processed = new Map(); // event id -> times acted on (what the tests read)
const app = express();

app.post('/webhooks/lmif', express.raw({ type: 'application/json' }), (req, res) => {
  const payload = req.body; // a Buffer: the exact bytes that were signed
  if (!Buffer.isBuffer(payload) || !verifyWebhook(payload, req.headers['x-lmif-signature'], secret)) {
    return res.status(401).send('Invalid signature');
  }
  let event;
  try {
    event = JSON.parse(payload);
  } catch (err) {
    return res.status(400).send('not JSON');
  }
  // Node runs this handler to completion before the next request: check and insert are atomic.
  if (!processed.has(event.id)) {
    processed.set(event.id, 1);
  }
  return res.status(200).send('OK');
});

app.get('/processed/:id', (req, res) => {
  res.json({ id: req.params.id, count: processed.get(req.params.id) || 0 });
});

const server = app.listen(Number(process.env.PORT || 0), '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
