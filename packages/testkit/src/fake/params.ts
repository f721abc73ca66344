// Parameter access with signal-cli's JsonRpcNamespace rules: keys are the CLI long option in camelCase or
// dashed form, list options also accept the plural key and a single scalar, and values are cast without
// conversion (a wrong JSON type is a ClassCastException → -32603). "Required" is not enforced here.
import { javaException } from './rpc.ts';

type JavaType = 'Integer' | 'Long' | 'Double' | 'String' | 'Boolean' | 'ArrayList' | 'LinkedHashMap' | 'BigInteger';

function javaTypeOf(v: unknown): JavaType {
  if (typeof v === 'string') return 'String';
  if (typeof v === 'boolean') return 'Boolean';
  if (typeof v === 'number') {
    if (!Number.isInteger(v)) return 'Double';
    if (v >= -2147483648 && v <= 2147483647) return 'Integer';
    if (Number.isSafeInteger(v)) return 'Long';
    return 'BigInteger';
  }
  if (Array.isArray(v)) return 'ArrayList';
  return 'LinkedHashMap';
}

const PKG: Record<JavaType, string> = {
  Integer: 'java.lang', Long: 'java.lang', Double: 'java.lang', String: 'java.lang', Boolean: 'java.lang',
  BigInteger: 'java.math', ArrayList: 'java.util', LinkedHashMap: 'java.util',
};

function classCast(from: JavaType, to: JavaType): Error {
  const a = `${PKG[from]}.${from}`;
  const b = `${PKG[to]}.${to}`;
  return javaException(
    `class ${a} cannot be cast to class ${b} (${a} and ${b} are in module java.base of loader 'bootstrap')`,
    'ClassCastException',
  );
}

function camel(dest: string): string {
  return dest.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}

function dashed(dest: string): string {
  return dest.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

export class Params {
  constructor(readonly raw: Record<string, unknown>) {}

  /** Value under the camelCase or dashed key (`dest` may be given in either form). */
  get(dest: string): unknown {
    const c = camel(dest);
    const d = dashed(c);
    for (const key of [c, d]) {
      const v = Object.hasOwn(this.raw, key) ? this.raw[key] : undefined;
      if (v !== undefined && v !== null) return v;
    }
    return undefined;
  }

  has(dest: string): boolean {
    return this.get(dest) !== undefined;
  }

  string(dest: string): string | undefined {
    const v = this.get(dest);
    if (v === undefined) return undefined;
    if (typeof v !== 'string') throw classCast(javaTypeOf(v), 'String');
    return v;
  }

  /** A String field of a record-typed params object: Jackson coerces numbers and booleans to text. */
  text(dest: string): string | undefined {
    const v = this.get(dest);
    if (v === undefined) return undefined;
    if (typeof v === 'number' || typeof v === 'boolean') return String(v);
    if (typeof v !== 'string') throw classCast(javaTypeOf(v), 'String');
    return v;
  }

  bool(dest: string): boolean | undefined {
    const v = this.get(dest);
    if (v === undefined) return undefined;
    if (typeof v !== 'boolean') throw classCast(javaTypeOf(v), 'Boolean');
    return v;
  }

  /** A Java Long: small JSON integers deserialize as Integer and fail the cast, like the real program. */
  long(dest: string): number | undefined {
    const v = this.get(dest);
    if (v === undefined) return undefined;
    const t = javaTypeOf(v);
    if (t !== 'Long') throw classCast(t, 'Long');
    return v as number;
  }

  int(dest: string): number | undefined {
    const v = this.get(dest);
    if (v === undefined) return undefined;
    const t = javaTypeOf(v);
    if (t !== 'Integer') throw classCast(t, 'Integer');
    return v as number;
  }

  /** List option: singular or plural key, scalar or array. */
  list(dest: string): unknown[] {
    let v = this.get(dest);
    if (v === undefined) v = this.get(`${camel(dest)}s`);
    if (v === undefined) return [];
    return Array.isArray(v) ? v : [v];
  }

  stringList(dest: string): string[] {
    return this.list(dest).map((v) => {
      if (typeof v !== 'string') throw classCast(javaTypeOf(v), 'String');
      return v;
    });
  }

  longList(dest: string): number[] {
    return this.list(dest).map((v) => {
      const t = javaTypeOf(v);
      if (t !== 'Long') throw classCast(t, 'Long');
      return v as number;
    });
  }
}
