'use strict';
// node-soap client of the interop suite: sends one W3C EchoTest with one Data per FILE and
// prints one JSON line with what came back (the same command line and JSON as the other peers):
//
//   node echo_client.js URL 1.1|1.2 on|off [--wsdl FILE] [--threshold N] [--action URI]
//        [--timeout SECONDS] [--ct CONTENT_TYPE] FILE [[--ct CONTENT_TYPE] FILE ...]
//
// "on": MTOM through node-soap's own `attachments` + `forceMTOM` options (the Data elements hold
// the xop:Include this script writes with `$xml`; node-soap labels the root part text/xml even
// for SOAP 1.2). "off": every value inline base64. Replies are read with node-soap's
// `parseResponseAttachments`; node-soap does not resolve xop:Include, so this script does (by
// Content-ID, from `mtomAttachments`). Exit 0: {"ok":true,"values":[...]}; a SOAP fault: exit 2
// with {"ok":false,"fault":{"code","string"}}; anything else: exit 1, message on stderr.

const crypto = require('crypto');
const fs = require('fs');
const path = require('path');
const soap = require('soap');
const { DOMParser } = require('@xmldom/xmldom');

const DATA_NS = 'http://example.org/mtom/data';
const XMIME_NS = 'http://www.w3.org/2005/05/xmlmime';
const XOP_NS = 'http://www.w3.org/2004/08/xop/include';
const ENV_NS = {
  '1.1': 'http://schemas.xmlsoap.org/soap/envelope/',
  '1.2': 'http://www.w3.org/2003/05/soap-envelope',
};

function parseArgs(argv) {
  if (argv.length < 4) {
    throw new Error('usage: echo_client.js URL 1.1|1.2 on|off [options] FILE ...');
  }
  const out = {
    url: argv[0], version: argv[1], mtom: argv[2] === 'on', threshold: 0, action: null,
    timeout: 120, wsdl: path.join(__dirname, 'echo.wsdl'), files: [],
  };
  if (!(out.version in ENV_NS)) {
    throw new Error('SOAP version must be 1.1 or 1.2');
  }
  let pendingCt = null;
  for (let i = 3; i < argv.length; i += 1) {
    const arg = argv[i];
    const next = argv[i + 1];
    if (arg === '--threshold') { out.threshold = Number(next); i += 1; }
    else if (arg === '--action') { out.action = next; i += 1; }
    else if (arg === '--timeout') { out.timeout = Number(next); i += 1; }
    else if (arg === '--wsdl') { out.wsdl = next; i += 1; }
    else if (arg === '--ct') { pendingCt = next; i += 1; }
    else if (arg.startsWith('--')) { throw new Error('unknown option ' + arg); }
    else { out.files.push({ path: arg, contentType: pendingCt }); pendingCt = null; }
  }
  if (out.files.length === 0) {
    throw new Error('at least one FILE is needed');
  }
  return out;
}

function escapeAttr(text) {
  return String(text).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/"/g, '&quot;');
}

function sha256(buf) {
  return crypto.createHash('sha256').update(buf).digest('hex');
}

// The request body (inside EchoTest) and the attachments node-soap is to send.
function buildRequest(opts) {
  const attachments = [];
  const items = opts.files.map((file, index) => {
    const body = fs.readFileSync(file.path);
    const attr = file.contentType === null ? '' : ` xmime:contentType="${escapeAttr(file.contentType)}"`;
    const open = `<x:Data xmlns:x="${DATA_NS}" xmlns:xmime="${XMIME_NS}"${attr}>`;
    if (opts.mtom && body.length >= opts.threshold) {
      const contentId = `value-${index}-${crypto.randomUUID()}@nodesoap.interop`;
      attachments.push({
        mimetype: file.contentType || 'application/octet-stream',
        contentId,
        name: path.basename(file.path),
        body,
      });
      return `${open}<xop:Include xmlns:xop="${XOP_NS}" href="cid:${encodeURIComponent(contentId)}"/></x:Data>`;
    }
    return `${open}${body.toString('base64')}</x:Data>`;
  });
  return { xml: items.join(''), attachments };
}

function firstChild(el, ns, local) {
  for (let n = el.firstChild; n; n = n.nextSibling) {
    if (n.nodeType === 1 && n.namespaceURI === ns && n.localName === local) {
      return n;
    }
  }
  return null;
}

function textOf(el) {
  return el ? String(el.textContent || '').trim() : '';
}

function parseXml(text) {
  const errors = [];
  const doc = new DOMParser({ onError: (level, msg) => { if (level !== 'warning') errors.push(msg); } })
    .parseFromString(text, 'text/xml');
  if (errors.length || !doc || !doc.documentElement) {
    throw new Error('reply is not well-formed XML: ' + errors.join('; '));
  }
  return doc;
}

function faultOf(doc) {
  const env = doc.documentElement;
  const ns = env.namespaceURI;
  const body = firstChild(env, ns, 'Body');
  const fault = body ? firstChild(body, ns, 'Fault') : null;
  if (!fault) {
    return null;
  }
  if (ns === ENV_NS['1.2']) {
    const code = firstChild(fault, ns, 'Code');
    const reason = firstChild(fault, ns, 'Reason');
    return {
      code: textOf(code ? firstChild(code, ns, 'Value') : null),
      string: textOf(reason ? firstChild(reason, ns, 'Text') : null),
    };
  }
  return { code: textOf(firstChild(fault, '', 'faultcode') || firstChild(fault, null, 'faultcode')),
    string: textOf(firstChild(fault, '', 'faultstring') || firstChild(fault, null, 'faultstring')) };
}

function stripCid(value) {
  let v = String(value || '').trim();
  if (v.toLowerCase().startsWith('cid:')) {
    v = decodeURIComponent(v.slice(4));
  }
  return v.replace(/^<|>$/g, '');
}

function valuesOf(doc, parts) {
  const byId = new Map();
  for (const part of parts) {
    const id = stripCid(part.headers['content-id']);
    byId.set(id, part);
  }
  const out = [];
  const datas = doc.getElementsByTagNameNS(DATA_NS, 'Data');
  for (let i = 0; i < datas.length; i += 1) {
    const el = datas[i];
    const ct = el.getAttributeNS(XMIME_NS, 'contentType') || null;
    const include = firstChild(el, XOP_NS, 'Include');
    let bytes;
    let attachmentType = null;
    if (include) {
      const part = byId.get(stripCid(include.getAttribute('href')));
      if (!part) {
        throw new Error('xop:Include names no part of the reply: ' + include.getAttribute('href'));
      }
      bytes = part.body;
      attachmentType = part.headers['content-type'] || null;
    } else {
      bytes = Buffer.from(textOf(el).replace(/\s+/g, ''), 'base64');
    }
    out.push({ size: bytes.length, sha256: sha256(bytes), content_type: ct, attachment_type: attachmentType });
  }
  return out;
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const soap12 = opts.version === '1.2';
  const client = await soap.createClientAsync(opts.wsdl, {
    forceSoap12Headers: soap12,
    parseResponseAttachments: true,
    endpoint: opts.url,
  });
  client.setEndpoint(opts.url);
  if (opts.action !== null) {
    client.setSOAPAction(opts.action);
  }
  const port = client.EchoService[soap12 ? 'EchoPort12' : 'EchoPort11'];
  const { xml, attachments } = buildRequest(opts);
  const callOptions = { timeout: opts.timeout * 1000 };
  if (opts.mtom) {
    callOptions.forceMTOM = true;
    callOptions.attachments = attachments;
  }
  let result;
  try {
    result = await new Promise((resolve, reject) => {
      port.EchoTest({ $xml: xml }, (err, _res, rawResponse, _header, _rawRequest, mtomAttachments) => {
        if (err) {
          reject(err);
        } else {
          resolve({ rawResponse, mtomAttachments });
        }
      }, callOptions);
    });
  } catch (err) {
    const response = err && err.response;
    let body = err && err.body;
    if (response && body === undefined) {
      body = response.data;
    }
    if (Buffer.isBuffer(body)) {
      body = body.toString('utf8');
    }
    if (typeof body === 'string' && body.includes('Fault')) {
      const fault = faultOf(parseXml(body));
      if (fault) {
        console.log(JSON.stringify({
          ok: false, fault,
          response_content_type: response && response.headers ? response.headers['content-type'] : null,
        }));
        return 2;
      }
    }
    throw err;
  }
  const last = client.lastResponseHeaders || {};
  const parts = result.mtomAttachments ? result.mtomAttachments.parts : [];
  const values = valuesOf(parseXml(result.rawResponse), parts);
  console.log(JSON.stringify({ ok: true, values, response_content_type: last['content-type'] || null }));
  return 0;
}

main().then((code) => { process.exitCode = code; }, (err) => {
  process.stderr.write(String(err && err.stack ? err.stack : err) + '\n');
  process.exitCode = 1;
});
