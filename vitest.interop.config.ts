import { defineConfig } from 'vitest/config';

// The interop suite against moto_server (npm run test:interop); not part of `npm test`.
export default defineConfig({
  test: {
    include: ['test/interop/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
