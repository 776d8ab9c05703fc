// Settings for @hey-api/openapi-ts; scripts/sdk-typescript.sh runs it with `-f` and sets the
// input document and the output folder through AIHUB_OPENAPI_INPUT and AIHUB_SDK_OUTPUT.
export default {
  input: process.env.AIHUB_OPENAPI_INPUT,
  output: {
    path: process.env.AIHUB_SDK_OUTPUT,
    // Node runs the compiled client as ES modules, which need `.js` in relative imports.
    module: { extension: '.js' },
  },
  // The fetch client bundled with the pinned generator (no runtime dependency), the types
  // and one SDK function per operation id.
  plugins: ['@hey-api/client-fetch', '@hey-api/typescript', '@hey-api/sdk'],
  logs: { file: false },
};
