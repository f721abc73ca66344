// The README's endpoint table lists exactly the endpoints, with their operationIds and statuses, in order.
import { readFileSync } from 'node:fs';

import { describe, expect, it } from 'vitest';

import { endpoints } from './endpoints.ts';

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');

const ROW = /^\| (GET|POST|PUT|DELETE) \| `([^`]+)` \| `([^`]+)` \| (\d{3}) \|/;

describe('README endpoint table', () => {
  it('matches `endpoints`', () => {
    const rows = readme
      .split('\n')
      .map((line) => ROW.exec(line))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => `${m[1]} ${m[2]} ${m[3]} ${m[4]}`);
    expect(rows).toEqual(endpoints.map((e) => `${e.method} ${e.path} ${e.id} ${e.successStatus}`));
  });

  it('marks the unsupported endpoints as 501', () => {
    for (const e of endpoints.filter((x) => x.unsupported !== undefined)) {
      expect(readme).toMatch(new RegExp(`\\| \`${e.id}\` \\| \\d{3} \\| — \\(501\\) \\|`));
    }
  });
});
