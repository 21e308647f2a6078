import { defineConfig } from "vite";

export default defineConfig({
  // bundle-vault finds its .wasm file next to its JavaScript (`new URL(…, import.meta.url)`). `vite build`
  // copies it into dist/assets by itself; the dev server must serve the package as it is instead of
  // pre-bundling it into .vite/deps, where the .wasm file is not.
  optimizeDeps: { exclude: ["bundle-vault"] },
});
