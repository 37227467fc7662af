'use strict';
// node-soap echo peer of the interop suite: the W3C MTOM CR echo (EchoTest holding 1..n Data,
// base64Binary with an optional xmime:contentType) on /echo11 (SOAP 1.1) and /echo12 (SOAP 1.2),
// WSDL at ?wsdl. node-soap's server has no MTOM or SwA: every reply is plain SOAP with the values
// inline, and the reply carries the request's Content-Type (node-soap copies it).
//
// Usage: node echo_server.js --port-file FILE --wsdl echo.wsdl [--parent-pid PID]
// Listens on 127.0.0.1 only (a free port, written to --port-file); writes one line per POST
// ("[soap11] request Content-Type: ...") to stdout; exits when the parent process is gone.

const fs = require('fs');
const http = require('http');
const soap = require('soap');

const XMIME_NS = 'http://www.w3.org/2005/05/xmlmime';

function parseArgs(argv) {
  const out = { portFile: null, wsdl: null, parentPid: 0 };
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i];
    const next = argv[i + 1];
    if (arg === '--port-file') { out.portFile = next; i += 1; }
    else if (arg === '--wsdl') { out.wsdl = next; i += 1; }
    else if (arg === '--parent-pid') { out.parentPid = Number(next); i += 1; }
    else { throw new Error('unknown argument ' + arg); }
  }
  if (!out.portFile || !out.wsdl) {
    throw new Error('usage: echo_server.js --port-file FILE --wsdl FILE [--parent-pid PID]');
  }
  return out;
}

function escapeAttr(text) {
  return String(text).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/"/g, '&quot;');
}

// One Data item as node-soap parsed it: a string, or {attributes, $value}.
function dataXml(item) {
  let value = '';
  let contentType = null;
  if (typeof item === 'string') {
    value = item;
  } else if (item && typeof item === 'object') {
    value = typeof item.$value === 'string' ? item.$value : '';
    const attrs = item.attributes || {};
    for (const key of Object.keys(attrs)) {
      if (key === 'contentType' || key.endsWith(':contentType')) {
        contentType = attrs[key];
      }
    }
  }
  const b64 = Buffer.from(value.replace(/\s+/g, ''), 'base64').toString('base64');
  const attr = contentType === null ? '' : ` xmime:contentType="${escapeAttr(contentType)}"`;
  return `<x:Data xmlns:x="http://example.org/mtom/data" xmlns:xmime="${XMIME_NS}"${attr}>${b64}</x:Data>`;
}

function echo(args) {
  let items = args && args.Data !== undefined ? args.Data : [];
  if (!Array.isArray(items)) {
    items = [items];
  }
  if (items.length === 0) {
    throw { Fault: { faultcode: 'soap:Client', faultstring: 'EchoTest without Data', statusCode: 500 } };
  }
  return { $xml: items.map(dataXml).join('') };
}

function main() {
  const opts = parseArgs(process.argv.slice(2));
  const template = fs.readFileSync(opts.wsdl, 'utf8');
  const server = http.createServer();
  server.listen(0, '127.0.0.1', () => {
    const port = server.address().port;
    const wsdl = template.split('@BASE_URL@').join(`http://127.0.0.1:${port}`);
    const services = {
      EchoService: {
        EchoPort11: { EchoTest: echo },
        EchoPort12: { EchoTest: echo },
      },
    };
    let pending = 2;
    const ready = (err) => {
      if (err) {
        process.stderr.write(`node-soap could not load the WSDL: ${err}\n`);
        process.exit(1);
      }
      pending -= 1;
      if (pending > 0) {
        return;
      }
      // Both soap.listen calls took over the 'request' listeners; the log line goes first.
      const handlers = server.listeners('request');
      server.removeAllListeners('request');
      server.on('request', (req) => {
        if (req.method === 'POST') {
          const tag = req.url.startsWith('/echo12') ? 'soap12' : 'soap11';
          process.stdout.write(`[${tag}] request Content-Type: ${req.headers['content-type'] || '?'}\n`);
        }
      });
      for (const handler of handlers) {
        server.on('request', handler);
      }
      fs.writeFileSync(opts.portFile + '.tmp', String(port));
      fs.renameSync(opts.portFile + '.tmp', opts.portFile);
      process.stdout.write(`listening on 127.0.0.1:${port}\n`);
    };
    soap.listen(server, { path: '/echo11', services, xml: wsdl, callback: ready });
    soap.listen(server, {
      path: '/echo12', services, xml: wsdl, forceSoap12Headers: true, callback: ready,
    });
  });
  if (opts.parentPid > 0) {
    setInterval(() => {
      try {
        process.kill(opts.parentPid, 0);
      } catch {
        process.exit(0);
      }
    }, 1000).unref();
  }
  for (const sig of ['SIGTERM', 'SIGINT']) {
    process.on(sig, () => process.exit(0));
  }
}

main();
