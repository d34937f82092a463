import { defineConfig } from 'vitest/config';

// The package as users install it: npm pack, installed offline, run from another folder
// (npm run test:pack; not part of `npm test`: it builds, packs and installs, about a minute).
export default defineConfig({
  test: {
    include: ['test/pack/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 600_000,
  },
});
