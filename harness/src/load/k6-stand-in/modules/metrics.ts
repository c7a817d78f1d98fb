/**
 * Shim of k6/metrics for the k6 stand-in: custom metrics record their samples
 * in the stand-in's runtime.
 */
import { runtime, type MetricType, type Tags } from '../runtime.js';

class CustomMetric {
  readonly name: string;
  private readonly isTime: boolean;

  constructor(
    name: string,
    private readonly type: MetricType,
    isTime = false,
  ) {
    this.name = name;
    this.isTime = isTime;
    runtime.define(name, type, isTime ? 'time' : 'default');
  }

  add(value: number | boolean, tags?: Tags): void {
    runtime.emit(this.name, this.type, typeof value === 'boolean' ? Number(value) : value, tags, this.isTime ? 'time' : 'default');
  }
}

export class Counter extends CustomMetric {
  constructor(name: string, isTime = false) {
    super(name, 'counter', isTime);
  }
}

export class Gauge extends CustomMetric {
  constructor(name: string, isTime = false) {
    super(name, 'gauge', isTime);
  }
}

export class Rate extends CustomMetric {
  constructor(name: string, isTime = false) {
    super(name, 'rate', isTime);
  }
}

export class Trend extends CustomMetric {
  constructor(name: string, isTime = false) {
    super(name, 'trend', isTime);
  }
}
