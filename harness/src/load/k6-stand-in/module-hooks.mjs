// Module resolution hook of the k6 stand-in: maps the k6 built-in modules a
// script imports (k6, k6/http, ...) to the stand-in's shims in ./modules.
// Plain JavaScript, because Node runs resolve hooks on a separate thread
// before any TypeScript loader can help.
const SHIMS = {
  k6: 'k6.ts',
  'k6/http': 'http.ts',
  'k6/metrics': 'metrics.ts',
  'k6/execution': 'execution.ts',
  'k6/data': 'data.ts',
};

export async function resolve(specifier, context, nextResolve) {
  const file = SHIMS[specifier];
  // The shim's URL goes on to the next resolver (tsx), which marks it as TypeScript for its loader.
  if (file !== undefined) return nextResolve(new URL(`./modules/${file}`, import.meta.url).href, context);
  if (specifier === 'k6' || specifier.startsWith('k6/')) {
    throw new Error(`the k6 stand-in does not implement module ${specifier}; it has ${Object.keys(SHIMS).join(', ')}`);
  }
  return nextResolve(specifier, context);
}
