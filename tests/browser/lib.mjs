/*
 * lib: what the browser tests and the benchmark share -- free loopback
 * ports, a private mosquitto, aqgridd with a configuration written here,
 * a minimal MQTT 3.1.1 publisher (QoS 1, waits for each PUBACK: the
 * project's tests take no MQTT library), polling, and a Check-style
 * summary line for tests/run.sh.
 */

import {spawn} from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import {fileURLToPath} from 'node:url';

export const TOP = path.resolve(path.dirname(fileURLToPath(import.meta.url)),
  '../..');

export function bin(env, dflt) {
  return path.resolve(TOP, process.env[env] || dflt);
}

export function sleep(ms) {
  return new Promise(r => setTimeout(r, ms));
}

/* Polls fn until it returns a truthy value or secs pass; returns it. */
export async function until(fn, secs, what) {
  const end = Date.now() + secs * 1000;
  let last;
  for (;;) {
    try {
      last = await fn();
      if (last) return last;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end)
      throw new Error('timed out waiting for ' + what + (last instanceof
        Error ? ': ' + last.message : ''));
    await sleep(50);
  }
}

export function freePort() {
  return new Promise((res, rej) => {
    const s = net.createServer();
    s.on('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const p = s.address().port;
      s.close(() => res(p));
    });
  });
}

export function tmpdir(name) {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'aqgrid-' + name + '-'));
}

/* A spawned program with its output in log; stop() sends TERM and waits. */
export function start(argv, log) {
  const fd = fs.openSync(log, 'w');
  const child = spawn(argv[0], argv.slice(1), {stdio: ['ignore', fd, fd]});
  fs.closeSync(fd);
  const exited = new Promise(res => child.on('exit', (code, sig) =>
    res(code === null ? 128 + (os.constants.signals[sig] || 0) : code)));
  return {
    child, log, exited,
    alive: () => child.exitCode === null && child.signalCode === null,
    text: () => fs.readFileSync(log, 'utf8'),
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const t = setTimeout(() => child.kill('SIGKILL'), 20000);
        const rc = await exited;
        clearTimeout(t);
        return rc;
      }
      return exited;
    }
  };
}

/* mosquitto on a free loopback port (never 1883), from the tests' file. */
export async function broker(dir) {
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = await freePort();
    const conf = path.join(dir, 'mosquitto.conf');
    fs.writeFileSync(conf, fs.readFileSync(path.join(TOP,
      'etc/mosquitto-test.conf'), 'utf8').replace(/@PORT@/g, String(port)));
    const p = start(['mosquitto', '-c', conf], path.join(dir,
      'mosquitto.log'));
    try {
      await until(() => new Promise(res => {
        if (!p.alive()) return res(false);
        const s = net.connect(port, '127.0.0.1');
        s.on('connect', () => { s.destroy(); res(true); });
        s.on('error', () => res(false));
      }), 5, 'mosquitto');
      return {proc: p, port};
    } catch (e) {
      await p.stop();
    }
  }
  throw new Error('cannot start mosquitto');
}

/* aqgridd -f -c conf; resolves once it has subscribed, with its port. */
export async function daemon(conf, log) {
  const p = start([bin('AQGRIDD', 'build/aqgridd'), '-f', '-c', conf], log);
  const port = await until(() => {
    if (!p.alive()) throw new Error('aqgridd exited: ' + p.text());
    const m = /https?:\/\/127\.0\.0\.1:(\d+)\//.exec(p.text());
    return m && /subscribed; ready/.test(p.text()) ? Number(m[1]) : null;
  }, 60, 'aqgridd to start');
  return {proc: p, port, url: 'http://127.0.0.1:' + port};
}

/* ---- MQTT 3.1.1, just enough to publish at QoS 1 ---- */

function mqttString(s) {
  const b = Buffer.from(s, 'utf8');
  const len = Buffer.alloc(2);
  len.writeUInt16BE(b.length);
  return Buffer.concat([len, b]);
}

function packet(type, body) {
  const len = [];
  let n = body.length;
  do {
    let d = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) d |= 0x80;
    len.push(d);
  } while (n > 0);
  return Buffer.concat([Buffer.from([type]), Buffer.from(len), body]);
}

export async function mqtt(port, clientId) {
  const sock = net.connect(port, '127.0.0.1');
  await new Promise((res, rej) => {
    sock.once('connect', res);
    sock.once('error', rej);
  });
  let buf = Buffer.alloc(0);
  const waiting = new Map(); /* packet id -> resolve */
  let connack = null;
  const connected = new Promise(res => { connack = res; });
  sock.on('data', d => {
    buf = Buffer.concat([buf, d]);
    while (buf.length >= 2) {
      let len = 0, mul = 1, k = 1;
      for (; k < buf.length; k++) {
        len += (buf[k] & 0x7f) * mul;
        mul *= 128;
        if (!(buf[k] & 0x80)) break;
      }
      if (k >= buf.length || buf.length < k + 1 + len) return;
      const type = buf[0] >> 4;
      const body = buf.subarray(k + 1, k + 1 + len);
      buf = buf.subarray(k + 1 + len);
      if (type === 2) connack(body[1]);
      else if (type === 4) {
        const id = body.readUInt16BE(0);
        const f = waiting.get(id);
        waiting.delete(id);
        if (f) f();
      }
    }
  });
  const v = Buffer.concat([mqttString('MQTT'), Buffer.from([4, 0x02, 0, 60]),
    mqttString(clientId)]);
  sock.write(packet(0x10, v));
  const rc = await connected;
  if (rc !== 0) throw new Error('MQTT CONNACK ' + rc);
  let next = 1;
  return {
    /* Publishes at QoS 1 and waits for the broker's PUBACK. */
    publish(topic, payload) {
      const id = next++;
      const idb = Buffer.alloc(2);
      idb.writeUInt16BE(id);
      const p = new Promise(res => waiting.set(id, res));
      sock.write(packet(0x32, Buffer.concat([mqttString(topic), idb,
        Buffer.from(payload, 'utf8')])));
      return p;
    },
    close() {
      sock.end(packet(0xe0, Buffer.alloc(0)));
    }
  };
}

/* ---- Results, as Check prints them, for tests/run.sh ---- */

export class Results {
  constructor(suite) {
    this.suite = suite;
    this.n = 0;
    this.failed = 0;
    this.errors = 0;
    console.log('Running suite(s): ' + suite);
  }

  /* Runs one check; a throw is its failure, with the message. */
  async check(name, fn) {
    this.n++;
    try {
      await fn();
      console.log(this.suite + ': Passed: ' + name);
    } catch (e) {
      this.failed++;
      console.log(this.suite + ':F: ' + name + ': ' + (e && e.stack ?
        e.stack.split('\n').slice(0, 3).join(' | ') : e));
    }
  }

  /* A failure outside any check (setup): counted as an error. */
  error(what, e) {
    this.n++;
    this.errors++;
    console.log(this.suite + ':E: ' + what + ': ' + (e && e.stack ?
      e.stack.split('\n').slice(0, 4).join(' | ') : e));
  }

  summary() {
    const ok = this.n - this.failed - this.errors;
    const pct = this.n ? Math.floor(100 * ok / this.n) : 0;
    console.log(pct + '%: Checks: ' + this.n + ', Failures: ' + this.failed +
      ', Errors: ' + this.errors);
    return this.failed + this.errors === 0 ? 0 : 1;
  }
}

export function assert(cond, msg) {
  if (!cond) throw new Error(msg);
}

export function eq(got, want, what) {
  if (JSON.stringify(got) !== JSON.stringify(want))
    throw new Error(what + ': got ' + JSON.stringify(got) + ', want ' +
      JSON.stringify(want));
}
