/**
 * Helpers that compilers inject into functions and that a shipped function may therefore carry:
 * esbuild (tsx, vite) wraps named functions in `__name(fn, "name")` when it keeps names. Defined on
 * the worker's global object only if absent.
 */
export function installHelpers(target: typeof globalThis): void {
  const globals = target as unknown as Record<string, unknown>;
  globals.__name ??= <T extends object>(fn: T, name: string): T =>
    Object.defineProperty(fn, 'name', { value: name, configurable: true });
}
