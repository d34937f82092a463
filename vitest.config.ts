import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'shared/**/*.test.ts', 'cli/**/*.test.ts'],
    testTimeout: 20_000,
  },
});
