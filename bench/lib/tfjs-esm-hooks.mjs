// Node module hooks that let tfjs-core's own `dist/register_all_gradients.js` load in Node.
//
// tfjs-core's Node entry (dist/tf-core.node.js) has every op but registers no gradients;
// bundlers and the @tensorflow/tfjs package add them from `dist/register_all_gradients.js`,
// an ES module tree written for bundlers (extensionless relative imports, .js files in a
// package without "type": "module"). These hooks resolve `./x` to `./x.js` and load those
// files as ESM, for files under tfjs-core/dist/ only. The gradients register into TF.js's
// global registry and run their ops on the one global engine (TF.js keeps both on
// globalThis so that several copies of tfjs-core share them), so they run on whichever
// backend is active, as with @tensorflow/tfjs.
const CORE_DIST = '/@tensorflow/tfjs-core/dist/';

export async function resolve(specifier, context, next) {
  try {
    return await next(specifier, context);
  } catch (err) {
    if (specifier.startsWith('.') && context.parentURL?.includes(CORE_DIST) && !specifier.endsWith('.js')) {
      return next(`${specifier}.js`, context);
    }
    throw err;
  }
}

export async function load(url, context, next) {
  if (url.includes(CORE_DIST) && url.endsWith('.js') && !/\/tf-core[^/]*\.js$/.test(url)) {
    return next(url, { ...context, format: 'module' });
  }
  return next(url, context);
}
