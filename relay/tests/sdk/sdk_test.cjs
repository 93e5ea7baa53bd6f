// The official OpenAI Node SDK, unchanged, pointed at the relay: b64 generations, streamed
// generations and multipart edits must work as they do against api.openai.com.
//
// Run by `cargo xtask test` (step "SDKs") with EASEL_RELAY_URL (…/v1), EASEL_RELAY_TOKEN and
// EASEL_SDK_NODE_DIR (where npm installed `openai`) set.

const assert = require('node:assert/strict');
const zlib = require('node:zlib');

const sdk = require(require.resolve('openai', { paths: [process.env.EASEL_SDK_NODE_DIR] }));
const OpenAI = sdk.OpenAI ?? sdk.default ?? sdk;
const { toFile } = sdk;

const PNG_MAGIC = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

function crc32(bytes) {
  let crc = ~0;
  for (const byte of bytes) {
    crc ^= byte;
    for (let k = 0; k < 8; k++) crc = (crc >>> 1) ^ (0xedb88320 & -(crc & 1));
  }
  return ~crc >>> 0;
}

/** An RGBA PNG filled by pixel(x, y) -> [r, g, b, a]. */
function png(width, height, pixel) {
  const rows = [];
  for (let y = 0; y < height; y++) {
    rows.push(0);
    for (let x = 0; x < width; x++) rows.push(...pixel(x, y));
  }
  const chunk = (kind, data) => {
    const body = Buffer.concat([Buffer.from(kind), data]);
    const length = Buffer.alloc(4);
    length.writeUInt32BE(data.length);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(body));
    return Buffer.concat([length, body, crc]);
  };
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header.set([8, 6, 0, 0, 0], 8);
  return Buffer.concat([
    PNG_MAGIC,
    chunk('IHDR', header),
    chunk('IDAT', zlib.deflateSync(Buffer.from(rows))),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

async function main() {
  const client = new OpenAI({
    baseURL: process.env.EASEL_RELAY_URL,
    apiKey: process.env.EASEL_RELAY_TOKEN,
    maxRetries: 0,
  });

  const result = await client.images.generate({
    model: 'gpt-image-2', prompt: 'a red fox in snow', size: '1024x1024', quality: 'low',
  });
  const image = Buffer.from(result.data[0].b64_json, 'base64');
  assert.ok(image.subarray(0, 8).equals(PNG_MAGIC), 'a PNG comes back');
  assert.ok(result.usage.total_tokens > 0);
  console.log(`node: b64 generation ok (${image.length} bytes)`);

  const stream = await client.images.generate({
    model: 'gpt-image-2', prompt: 'a lighthouse', size: '1024x1024', quality: 'low',
    stream: true, partial_images: 2,
  });
  const kinds = [];
  let last;
  for await (const event of stream) {
    kinds.push(event.type);
    last = event;
  }
  assert.deepEqual(kinds, [
    'image_generation.partial_image',
    'image_generation.partial_image',
    'image_generation.completed',
  ]);
  assert.ok(Buffer.from(last.b64_json, 'base64').subarray(0, 8).equals(PNG_MAGIC));
  console.log('node: streamed generation ok (2 partial images, then completed)');

  const photo = png(64, 64, (x) => (x < 32 ? [200, 40, 40, 255] : [40, 40, 200, 255]));
  const mask = png(64, 64, (x, y) => [0, 0, 0, x >= 16 && x < 48 && y >= 16 && y < 48 ? 0 : 255]);
  const edited = await client.images.edit({
    model: 'gpt-image-2',
    image: [await toFile(photo, 'photo.png', { type: 'image/png' })],
    mask: await toFile(mask, 'mask.png', { type: 'image/png' }),
    prompt: 'a green hat',
  });
  assert.ok(Buffer.from(edited.data[0].b64_json, 'base64').subarray(0, 8).equals(PNG_MAGIC));
  assert.equal(edited.size, '64x64');
  console.log('node: multipart edit ok');

  const stranger = new OpenAI({ baseURL: process.env.EASEL_RELAY_URL, apiKey: 'wrong', maxRetries: 0 });
  await assert.rejects(
    stranger.images.generate({ model: 'gpt-image-2', prompt: 'x' }),
    (error) => error.status === 401 && error.code === 'invalid_relay_token',
  );
  console.log('node: a wrong relay token is a 401 AuthenticationError');
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
