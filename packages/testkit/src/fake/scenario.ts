// The start-up scenario a test passes to the fake through FAKE_SIGNAL_CLI_SCENARIO (JSON text).

export interface FakeScenario {
  /** Delay before the fake answers anything (the real JVM takes 1.5–2.7 s). Input is buffered meanwhile. */
  startupDelayMs?: number;
  /**
   * Exit after the start-up delay without serving: `code` (2 = multi-account server check failed,
   * 3 = single-account, 1 = user error), `stderr` text (default: the real message for the code).
   * `times`: only the first N starts on this config dir exit (counted in a file there); absent = always.
   */
  exitAtStartup?: { code: number; stderr?: string; times?: number };
  /** Never become ready; prints the "Config file is in use by another instance, waiting…" line. */
  hangAtStartup?: boolean;
  /** Extra registered accounts (E.164), in addition to `<config>/data/accounts.json`. */
  accounts?: string[];
  /** Artificial latency per method name, in ms (lets tests force out-of-order answers). */
  methodDelays?: Record<string, number>;
  /** Make `startLink` succeed with a `sgnl://linkdevice?…` URI instead of the offline -3 error. */
  linkSucceeds?: boolean;
  /** Number that a successful `finishLink` adds (default: a generated +1555555xxxx number). */
  linkNumber?: string;
  /** Version reported by the `version` method (default 0.13.19). */
  version?: string;
}

export class ScenarioError extends Error {
  override readonly name = 'ScenarioError';
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Parses and checks the scenario JSON; throws {@link ScenarioError} with a readable reason. */
export function parseScenario(text: string | undefined): FakeScenario {
  if (text === undefined || text.trim() === '') return {};
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new ScenarioError(`FAKE_SIGNAL_CLI_SCENARIO is not valid JSON: ${(e as Error).message}`);
  }
  if (!isRecord(raw)) throw new ScenarioError('FAKE_SIGNAL_CLI_SCENARIO must be a JSON object');
  const s: FakeScenario = {};
  const num = (key: string, v: unknown): number => {
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw new ScenarioError(`scenario.${key} must be a number >= 0`);
    return v;
  };
  for (const [key, v] of Object.entries(raw)) {
    switch (key) {
      case 'startupDelayMs':
        s.startupDelayMs = num(key, v);
        break;
      case 'exitAtStartup': {
        if (!isRecord(v) || typeof v.code !== 'number') throw new ScenarioError('scenario.exitAtStartup needs a numeric code');
        s.exitAtStartup = { code: v.code };
        if (v.stderr !== undefined) {
          if (typeof v.stderr !== 'string') throw new ScenarioError('scenario.exitAtStartup.stderr must be a string');
          s.exitAtStartup.stderr = v.stderr;
        }
        if (v.times !== undefined) s.exitAtStartup.times = num('exitAtStartup.times', v.times);
        break;
      }
      case 'hangAtStartup':
        s.hangAtStartup = v === true;
        break;
      case 'accounts':
        if (!Array.isArray(v) || !v.every((a) => typeof a === 'string')) throw new ScenarioError('scenario.accounts must be an array of strings');
        s.accounts = v as string[];
        break;
      case 'methodDelays':
        if (!isRecord(v)) throw new ScenarioError('scenario.methodDelays must be an object');
        s.methodDelays = {};
        for (const [m, d] of Object.entries(v)) s.methodDelays[m] = num(`methodDelays.${m}`, d);
        break;
      case 'linkSucceeds':
        s.linkSucceeds = v === true;
        break;
      case 'linkNumber':
      case 'version':
        if (typeof v !== 'string') throw new ScenarioError(`scenario.${key} must be a string`);
        s[key] = v;
        break;
      default:
        throw new ScenarioError(`unknown scenario member: ${key}`);
    }
  }
  return s;
}
