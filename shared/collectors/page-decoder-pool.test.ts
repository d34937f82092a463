import type { PiscinaTask } from 'piscina';
import { queueOptionsSymbol } from 'piscina';
import { describe, expect, it } from 'vitest';
import { TwoLaneQueue } from './page-decoder-pool.ts';

const task = (id: string, first: boolean) =>
  ({ id, [queueOptionsSymbol]: { first } }) as unknown as PiscinaTask;
const drain = (queue: TwoLaneQueue) => {
  const order: string[] = [];
  for (let next = queue.shift(); next; next = queue.shift())
    order.push((next as unknown as { id: string }).id);
  return order;
};

describe('TwoLaneQueue (the decode pool’s waiting tasks)', () => {
  it('hands out the first lane (ServiceAccount pages) before the others, each lane in order', () => {
    const queue = new TwoLaneQueue();
    for (const [id, first] of [
      ['pod-1', false],
      ['pod-2', false],
      ['sa-1', true],
      ['pod-3', false],
      ['sa-2', true],
    ] as const)
      queue.push(task(id, first));
    expect(queue.size).toBe(5);
    expect(drain(queue)).toEqual(['sa-1', 'sa-2', 'pod-1', 'pod-2', 'pod-3']);
    expect(queue.size).toBe(0);
    expect(queue.shift()).toBeNull();
  });

  it('puts a task given back at the head of its lane, and removes an aborted one', () => {
    const queue = new TwoLaneQueue();
    const pods = [task('pod-1', false), task('pod-2', false), task('pod-3', false)];
    for (const pod of pods) queue.push(pod);
    queue.push(task('sa-1', true));
    queue.unshift(task('pod-0', false));
    queue.remove(pods[1] as PiscinaTask);
    expect(drain(queue)).toEqual(['sa-1', 'pod-0', 'pod-1', 'pod-3']);
  });

  it('treats a task without queue options as one of the others', () => {
    const queue = new TwoLaneQueue();
    queue.push({ id: 'plain' } as unknown as PiscinaTask);
    queue.push(task('sa-1', true));
    expect(drain(queue)).toEqual(['sa-1', 'plain']);
  });
});
