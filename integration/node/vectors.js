'use strict';
// Prints hydrakit's UMF test vectors, computed by the real npm hydra@1.9.3 (no Redis needed):
//   cd integration/node && node vectors.js > ../../umf/testdata/node-vectors.json
// Every "out" is what Node itself produces; umf's tests must match it byte for byte.
const UMF = require('hydra/lib/umfmessage');

const stringify = (v) => JSON.stringify(v);
// What a Node service publishes or queues for a message object (hydra's _sendMessageThroughChannel and
// _queueMessage): createMessage, then toShort, then JSON.stringify.
const wire = (obj) => stringify(UMF.createMessage(obj).toShort());

// normalize: raw JSON text in, JSON.stringify(JSON.parse(text)) out.
const normalizeInputs = [
  ['object key order', '{"b":1,"a":2,"c":{"z":[],"y":{}}}'],
  ['whitespace', ' { "a" : [ 1 , 2 ,\n\t3 ] ,\r\n "b" : { } } '],
  ['integer-like keys first', '{"b":1,"10":2,"a":3,"2":4,"0":5,"01":6,"-1":7,"1.5":8," 3":9}'],
  ['array index bounds', '{"x":0,"4294967295":1,"4294967294":2,"4294967296":3,"99999999999":4}'],
  ['duplicate keys keep first position, last value', '{"a":1,"b":2,"a":3,"c":{"d":1,"d":[2]}}'],
  ['duplicate integer keys', '{"z":0,"5":1,"5":2,"1":3}'],
  ['escaped key equals plain key', '{"a":1,"\\u0061":2,"b":3}'],
  ['html characters', '{"html":"<script>alert(\'x\')</script> & <b>"}'],
  ['escaped html characters', '{"html":"\\u003cb\\u003e \\u0026"}'],
  ['non-ASCII', '{"s":"héllo wörld — ünïcödé 日本語 😀","k€y":"€"}'],
  ['escaped non-ASCII', '{"s":"\\u00e9\\u65e5\\ud83d\\ude00\\uD83D\\uDE00"}'],
  ['line and paragraph separators', '{"ls":"a\u2028b","ps":"c\u2029d","esc":"\\u2028\\u2029"}'],
  ['control characters', '{"c":"\\u0000\\u0001\\b\\f\\n\\r\\t\\u000b\\u001f\\u007f\\u0080"}'],
  ['escapes', '{"e":"\\"\\\\\\/\\b\\f\\n\\r\\t"}'],
  ['lone surrogates', '{"hi":"\\ud800","lo":"\\udc00x","rev":"\\udc00\\ud800","hiA":"\\uD83Dz","pair":"\\ud83d\\ude00"}'],
  ['nested arrays', '[[[]],[[1,[2,[3,[4]]]]],[{"a":[{"b":[]}]}]]'],
  ['scalars', '[true,false,null,"",0,-1]'],
  ['floats', '[0.1,0.2,0.30000000000000004,1.5,-2.25,100,1e2,1E2,1e+2,12e-1]'],
  ['exponent boundaries', '[1e21,1e20,123456789012345680000,1.5e21,1e-6,1e-7,0.000001,0.0000001,1.5e-7,-1e-7]'],
  ['extremes', '[5e-324,2.2250738585072014e-308,1.7976931348623157e308,1e400,-1e400,1e-400,-1e-400]'],
  ['zeroes', '[0,-0,0.0,-0.0,0e10,-0e-10]'],
  ['big integers', '[9007199254740991,9007199254740992,9007199254740993,18014398509481985,123456789012345678901234567890]'],
  ['long decimals', '[3.14159265358979323846264338327950288,0.1000000000000000055511151231257827,1.00000000000000011102230246251565404236316680908203125]'],
  ['top-level string', '"just a string"'],
  ['top-level number', '  42  '],
  ['deep', '{"a":{"b":{"c":{"d":{"e":{"f":[1,{"g":null}]}}}}}}'],
  ['proto key', '{"__proto__":{"x":1},"constructor":2}'],
  ['empty key', '{"":1,"a":{"":[]}}'],
];
const normalize = normalizeInputs.map(([name, text]) => ({ name, in: text, out: stringify(JSON.parse(text)) }));

// Invalid UTF-8 reaches JSON.parse after Node decodes the Redis reply as UTF-8 (U+FFFD replacement).
const utf8Inputs = [
  ['lone continuation', '7b2261223a2280227d'],
  ['truncated 3-byte', '7b2261223a22e282227d'],
  ['truncated 3-byte before ASCII', '7b2261223a22e28241227d'],
  ['encoded surrogate', '7b2261223a22eda080227d'],
  ['overlong', '7b2261223a22c0af227d'],
  ['truncated 4-byte', '7b2261223a22f09f98227d'],
  ['F4 beyond range', '7b2261223a22f4908080227d'],
  ['FF byte', '7b2261223a22ff41227d'],
];
const utf8 = utf8Inputs.map(([name, hex]) => ({
  name, inHex: hex, out: stringify(JSON.parse(Buffer.from(hex, 'hex').toString('utf8'))),
}));

// numbers: random doubles from a fixed seed, as IEEE bits and as Node prints them.
let seed = 0x2545F4914F6CDD1Dn;
const next = () => { seed ^= seed << 13n; seed &= (1n << 64n) - 1n; seed ^= seed >> 7n; seed ^= seed << 17n; seed &= (1n << 64n) - 1n; return seed; };
const numbers = [];
const dv = new DataView(new ArrayBuffer(8));
for (let i = 0; i < 3000; i++) {
  let bits = next();
  if (i % 3 === 1) bits = (bits & 0x800FFFFFFFFFFFFFn) | (BigInt(1023 - 30 + Number(bits % 100n)) << 52n); // near 1
  if (i % 3 === 2) bits = BigInt.asUintN(64, BigInt(Math.round(Number(bits % 2000000n) - 1000000)) * (i % 2 ? 1n : 1000n)) ; // integers
  dv.setBigUint64(0, bits);
  let x = dv.getFloat64(0);
  if (i % 3 === 2) x = Number(BigInt.asIntN(64, bits)) / (i % 5 === 0 ? 1000 : 1);
  if (!Number.isFinite(x)) continue;
  dv.setFloat64(0, x);
  numbers.push({ bits: dv.getBigUint64(0).toString(16).padStart(16, '0'), text: x.toPrecision(17), out: stringify(x) });
}

// shortForm: a message as received (short, long or mixed) and what Node re-serializes (hydra's
// message handler does createMessage(msg).toShort()). mid and ts are given so nothing is random.
const base = { mid: '0b8e0f3a-5f04-4d49-9a8f-2c2c0e6f6a11', ts: '2026-11-25T18:00:00.000Z' };
const messages = [
  ['short minimal', { to: 'svc:/', frm: 'other:/', ...base, bdy: {} }],
  ['short every field', { to: 'abc@svc:[post]/v1/x/:id', frm: 'def@caller:/', hdr: { 'content-type': 'application/json', '2': 'two' }, mid: base.mid, rmid: 'r-1', sig: 'deadbeef', tmo: 30, ts: base.ts, typ: 'msg', ver: 'UMF/1.4.6', via: 'rid-cid@hydra-router:/', fwd: 'x:/y', bdy: { a: 1 }, aut: 'Bearer t' }],
  ['long every field', { to: 'svc:[get]/p', from: 'caller:/', headers: { h: 'v' }, mid: base.mid, rmid: 'r-2', signature: 'cafe', timeout: 2.5, timestamp: base.ts, type: 'job', version: 'UMF/1.4.6', via: 'v:/', forward: 'f:/', body: [1, 2, 3], authorization: 'Basic x' }],
  ['long wins over short', { to: 'svc:/', from: 'long:/', frm: 'short:/', body: { long: true }, bdy: { short: true }, headers: { l: 1 }, hdr: { s: 1 }, type: 'L', typ: 'S', ...base }],
  ['falsy long loses to short', { to: 'svc:/', from: '', frm: 'short:/', timeout: 0, tmo: 7, body: 0, bdy: 'short', ...base }],
  ['falsy fields dropped', { to: 'svc:/', frm: '', tmo: 0, typ: '', bdy: false, aut: '', ...base }],
  ['body with html, unicode and separators', { to: 'svc:/', frm: 'a:/', ...base, bdy: { html: '<a href="x">&amp;</a>', uni: 'ünï 日本 😀', seps: 'a\u2028b\u2029c', ctl: '\u0001\t' } }],
  ['body with integer-like keys and nested arrays', { to: 'svc:/', frm: 'a:/', ...base, bdy: { b: 1, 10: [[1, [2]], []], 2: { 1: 'x', a: 'y', 0: 'z' } } }],
  ['body with floats', { to: 'svc:/', frm: 'a:/', ...base, tmo: 0.1, bdy: [0.1, 1e21, 1e-7, 5e-324, 9007199254740993, -0, 1.5] }],
  ['strings needing escapes', { to: 'svc:/"q"', frm: 'a\\b:/', ...base, typ: 'line\nbreak', bdy: 'x' }],
];
const shortForm = messages.map(([name, obj]) => ({ name, in: stringify(obj), out: wire(obj) }));
// Raw texts that no JavaScript object literal can express.
const rawMessages = [
  ['duplicate keys in the raw message', '{"to":"a:/","to":"b:/","frm":"c:/","bdy":{"k":1,"k":2},"mid":"m","ts":"t"}'],
  ['infinite body is truthy and written as null', '{"to":"a:/","body":1e999,"bdy":"short","tmo":1e-400,"mid":"m","ts":"t"}'],
  ['escaped field names', '{"\\u0074o":"a:/","fr\\u006d":"b:/","mid":"m","ts":"t","bdy":{"\\u0031":1}}'],
  ['null fields', '{"to":"a:/","frm":null,"hdr":null,"typ":null,"mid":"m","ts":"t","bdy":null}'],
  ['whitespace everywhere', ' {\n "to" : "a:/" ,\t"mid":"m", "ts":"t" , "bdy" : [ 1 , { "b" : 2 , "a" : 3 } ] } '],
];
for (const [name, text] of rawMessages) {
  shortForm.push({ name, in: text, out: wire(JSON.parse(text)) });
}

// sign: createMessage then signMessage('sha256', secret), as a Node user signs.
const signCases = [
  ['short input', 'secret', { to: 'svc:/', frm: 'a:/', ...base, bdy: { x: 1 } }],
  ['every field', 'k3y', { to: 'i@svc:[put]/x', frm: 'j@a:/', hdr: { h: 'v' }, ...base, rmid: 'r', tmo: 5, typ: 't', via: 'v:/', fwd: 'f:/', bdy: { '1': 'one', z: '<&>\u2028' }, aut: 'A' }],
  ['falsy body absent', 'secret', { to: 'svc:/', frm: 'a:/', ...base, bdy: 0 }],
  ['already signed', 'secret', { to: 'svc:/', frm: 'a:/', ...base, sig: 'stale', bdy: [1e21] }],
  ['unicode secret', 'clé 🔑', { to: 'svc:/', frm: 'a:/', ...base, bdy: 'héllo' }],
];
// A raw text: Infinity is truthy, so Node signs "body":null, which no receiver can check again.
signCases.push(['infinite body', 'secret', '{"to":"svc:/","frm":"a:/","mid":"m","ts":"t","bdy":-1e999}']);
const sign = signCases.map(([name, secret, objOrText]) => {
  const text = typeof objOrText === 'string' ? objOrText : stringify(objOrText);
  const msg = UMF.createMessage(JSON.parse(text));
  msg.signMessage('sha256', secret);
  const long = Object.assign({}, msg.toJSON());
  delete long.signature;
  const out = stringify(msg.toShort());
  // verifiable: Node itself gets the same signature back from the message it wrote.
  const again = UMF.createMessage(JSON.parse(out));
  again.signMessage('sha256', secret);
  return { name, secret, in: text, signed: stringify(long), signature: msg.signature, out, verifiable: again.signature === msg.signature };
});

// reply: the exact steps of hydra's _sendReplyMessage, then what _sendMessage publishes.
const replyOf = (orig, resp) => {
  const o = UMF.createMessage(orig).toJSON();
  const r = UMF.createMessage(resp).toJSON();
  const reply = Object.assign(o, { rmid: o.mid, to: o.from, from: o.to }, r);
  if (o.via) { reply.to = o.via; }
  if (o.forward) { reply.forward = o.forward; }
  return wire(reply);
};
const rbase = { mid: '11111111-2222-4333-8444-555555555555', ts: '2026-11-25T18:00:01.000Z' };
const replyCases = [
  ['simple', { to: 'svc:/work', frm: 'i1@caller:/', ...base, bdy: { q: 1 } }, { ...rbase, bdy: { a: 2 } }],
  ['via wins', { to: 'svc:/', frm: 'c:/', via: 'r-c1@hydra-router:/', ...base, bdy: {} }, { ...rbase, to: 'ignored:/', bdy: { ok: true } }],
  ['forward carried', { to: 'svc:/', frm: 'c:/', fwd: 'next:/', ...base, bdy: {} }, { ...rbase, fwd: 'resp:/', bdy: 'r' }],
  ['carried fields', { to: 'svc:/', frm: 'c:/', hdr: { h: 1 }, typ: 'ping', tmo: 3, aut: 'tok', ver: 'UMF/1.0', ...base, bdy: { keep: 1 } }, { ...rbase, typ: 'pong' }],
  ['response overrides', { to: 'svc:/', frm: 'c:/', ...base, bdy: { q: 1 } }, { ...rbase, to: 'x:/', frm: 'y:/', rmid: 'custom', hdr: { r: 2 }, tmo: 9, aut: 'b', bdy: [1] }],
  ['falsy response body keeps original body', { to: 'svc:/', frm: 'c:/', ...base, bdy: { q: 1 } }, { ...rbase, bdy: 0 }],
  ['response via redirects too', { to: 'svc:/', frm: 'c:/', ...base, bdy: {} }, { ...rbase, via: 'proxy:/', bdy: 2 }],
  ['response via beats original via', { to: 'svc:/', frm: 'c:/', via: 'r1@hydra-router:/', ...base, bdy: {} }, { ...rbase, via: 'r2@hydra-router:/', bdy: 3 }],
  ['original with rmid', { to: 'svc:/', frm: 'c:/', ...base, rmid: 'older', bdy: {} }, { ...rbase, bdy: {} }],
  ['long-form original', { to: 'svc:/', from: 'c:/', headers: { x: 'y' }, mid: base.mid, timestamp: base.ts, body: {} }, { ...rbase, body: { r: 1 } }],
];
const reply = replyCases.map(([name, orig, resp]) => ({ name, orig: stringify(orig), resp: stringify(resp), out: replyOf(orig, resp) }));
// A signed original: Node carries its stale sig into the reply; hydrakit drops it on purpose.
reply.push({ name: 'signed original (sig carried by Node)', orig: stringify({ to: 'svc:/', frm: 'c:/', ...base, sig: 'abc', bdy: {} }), resp: stringify({ ...rbase, bdy: 1 }), out: replyOf({ to: 'svc:/', frm: 'c:/', ...base, sig: 'abc', bdy: {} }, { ...rbase, bdy: 1 }) });

// parseRoute: hydra's own address parser.
const routes = ['svc:/p', 'svc:[get]/p', 'svc:[GET]/v1/x', 'iid@svc:[post]/v1/x', 'iid-sub@svc:/', 'cid@client:/',
  'hydra-router:/refresh', 'svc:/v1/x/:id', 'svc:[delete]/v1/x/:id/:sub', 'svc:', 'svc:[get]', 'a@b@c:/x', 'svc:/[x]',
  'svc:[get/x', 'svc', '', 'abc@svc:[Patch]/v1/items/:id', 'svc:[get][x]'];
const parseRoute = routes.map((r) => ({ in: r, out: UMF.parseRoute(r) }));

// --stdin: differential mode for integration/umf_test.go. Each input line is one of
//   {"hex": <UTF-8 bytes of a JSON text>, "secret": s} → {"norm": JSON.stringify(JSON.parse(text)),
//                                   "wire": the re-serialized message, "sig": signMessage} (as hex)
//   {"route": address}             → {"route": parseRoute(address)}
//   {"orig": hex, "resp": hex}     → {"reply": what _sendReplyMessage publishes, as hex}
if (process.argv[2] === '--stdin') {
  const hex = (s) => Buffer.from(s, 'utf8').toString('hex');
  const rl = require('readline').createInterface({ input: process.stdin });
  rl.on('line', (line) => {
    const req = JSON.parse(line);
    const out = {};
    if (req.route !== undefined) {
      out.route = UMF.parseRoute(req.route);
      process.stdout.write(JSON.stringify(out) + '\n');
      return;
    }
    if (req.orig !== undefined) {
      const parse = (h) => JSON.parse(Buffer.from(h, 'hex').toString('utf8'));
      out.reply = hex(replyOf(parse(req.orig), parse(req.resp)));
      process.stdout.write(JSON.stringify(out) + '\n');
      return;
    }
    try {
      const v = JSON.parse(Buffer.from(req.hex, 'hex').toString('utf8'));
      out.norm = hex(stringify(v));
      if (v && typeof v === 'object' && !Array.isArray(v)) {
        out.wire = hex(wire(v));
        if (req.secret) {
          const msg = UMF.createMessage(v);
          msg.signMessage('sha256', req.secret);
          out.sig = msg.signature;
        }
      }
    } catch (e) {
      out.error = String(e);
    }
    process.stdout.write(JSON.stringify(out) + '\n');
  });
  return;
}

process.stdout.write(JSON.stringify({
  generator: 'integration/node/vectors.js', hydra: require('hydra/package.json').version, node: process.version,
  normalize, utf8, numbers, shortForm, sign, reply, parseRoute,
}, null, 1) + '\n');
