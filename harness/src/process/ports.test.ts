import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { choosePort, findFreePort, isPortFree, isPortOpen, LOOPBACK } from './ports.js';

describe('port helpers', () => {
  let server: Server;
  let busyPort: number;

  before(async () => {
    server = createServer();
    await new Promise<void>((resolve) => server.listen(0, LOOPBACK, resolve));
    busyPort = (server.address() as { port: number }).port;
  });

  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  test('findFreePort returns a bindable port', async () => {
    const port = await findFreePort();
    assert.ok(port > 0);
    assert.ok(port < 65536);
    assert.equal(await isPortFree(port), true);
  });

  test('isPortFree is false for a listening port', async () => {
    assert.equal(await isPortFree(busyPort), false);
  });

  test('choosePort keeps a free preferred port', async () => {
    const preferred = await findFreePort();
    assert.equal(await choosePort(preferred), preferred);
  });

  test('choosePort replaces a busy preferred port', async () => {
    const chosen = await choosePort(busyPort);
    assert.notEqual(chosen, busyPort);
    assert.equal(await isPortFree(chosen), true);
  });

  test('choosePort skips taken ports', async () => {
    const preferred = await findFreePort();
    const chosen = await choosePort(preferred, new Set([preferred]));
    assert.notEqual(chosen, preferred);
  });

  test('isPortOpen tells listening from closed ports', async () => {
    assert.equal(await isPortOpen(busyPort), true);
    assert.equal(await isPortOpen(await findFreePort()), false);
  });
});
