// Who may read /metrics. The end-to-end figures are in test/metrics.test.ts; a test on this machine can only
// connect from loopback, so the allow-list is checked here on the real class.
import { describe, expect, it } from 'vitest';
import { DaemonMetrics } from './metrics.ts';

describe('DaemonMetrics.allows', () => {
  it('answers loopback clients only, unless SIGNAL_BROKER_METRICS_ALLOW lists the address', () => {
    const closed = new DaemonMetrics({ allow: [] });
    for (const loopback of ['127.0.0.1', '127.3.4.5', '::1', '::ffff:127.0.0.1']) expect(closed.allows(loopback), loopback).toBe(true);
    for (const other of ['10.1.2.3', '192.168.1.20', '::ffff:10.1.2.3', 'fd00::5', undefined]) expect(closed.allows(other), String(other)).toBe(false);

    const open = new DaemonMetrics({ allow: ['10.0.0.0/8', '192.168.1.20', 'fd00::/8'] });
    for (const allowed of ['10.1.2.3', '::ffff:10.200.0.1', '192.168.1.20', 'fd00::5', '127.0.0.1']) expect(open.allows(allowed), allowed).toBe(true);
    for (const refused of ['11.0.0.1', '192.168.1.21', '::ffff:192.168.1.21', 'fe80::1', '2001:db8::1']) expect(open.allows(refused), refused).toBe(false);
  });
});
