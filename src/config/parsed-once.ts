// validateEnv parses a structured variable so that a bad value stops the start; every later user of
// the same environment gets that result instead of parsing it again.
export function parsedOnce<E extends object, T>(parse: (env: E) => T): (env: E) => T {
  const parsed = new WeakMap<E, T>();
  return (env) => {
    if (!parsed.has(env)) parsed.set(env, parse(env));
    return parsed.get(env)!;
  };
}
