// Draws the report's charts with uPlot from the run data embedded in the page.
// Plain ES2017 in one IIFE: the report opens from file:// with no network and no build step.
(function () {
  'use strict';

  var data = JSON.parse(document.getElementById('soma-run-data').textContent);
  var COLORS = ['#2563eb', '#16a34a', '#dc2626', '#9333ea', '#ea580c', '#0891b2'];
  // The latency chart's x axis: percentiles on a log scale of 1 / (1 - p), as HdrHistogram plots them.
  var MAX_PERCENTILE_X = 5;

  function scenarioByName(name) {
    for (var i = 0; i < data.scenarios.length; i += 1) {
      if (data.scenarios[i].name === name) return data.scenarios[i];
    }
    return null;
  }

  function seconds(ms) {
    return Math.round(ms / 10) / 100;
  }

  function series(label, color, scale, extra) {
    var entry = { label: label, stroke: color, width: 2, spanGaps: true, scale: scale || 'y', points: { show: false } };
    if (extra) for (var key in extra) entry[key] = extra[key];
    return entry;
  }

  // Dashed vertical lines where the scenario's actions started.
  function actionMarkers(scenario) {
    var times = [];
    for (var i = 0; i < scenario.actions.length; i += 1) {
      if (typeof scenario.actions[i].startedMs === 'number') times.push(seconds(scenario.actions[i].startedMs));
    }
    return {
      hooks: {
        draw: [
          function (u) {
            var ctx = u.ctx;
            ctx.save();
            ctx.strokeStyle = '#6b7280';
            ctx.setLineDash([6, 4]);
            ctx.lineWidth = 1.5;
            for (var j = 0; j < times.length; j += 1) {
              var x = Math.round(u.valToPos(times[j], 'x', true));
              ctx.beginPath();
              ctx.moveTo(x, u.bbox.top);
              ctx.lineTo(x, u.bbox.top + u.bbox.height);
              ctx.stroke();
            }
            ctx.restore();
          },
        ],
      },
    };
  }

  function draw(element, options, alignedData) {
    options.width = Math.max(360, element.clientWidth || 900);
    options.height = 280;
    var chart = new uPlot(options, alignedData, element);
    element.setAttribute('data-rendered', 'true');
    element.setAttribute('data-points', String(alignedData[0].length));
    return chart;
  }

  function timeOptions(scenario, title, axes, seriesList) {
    return {
      title: title,
      scales: { x: { time: false } },
      cursor: { sync: { key: 'soma-' + scenario.name } },
      legend: { live: true },
      axes: [{ label: 'seconds since the scenario started' }].concat(axes),
      series: [{ label: 't (s)' }].concat(seriesList),
      plugins: [actionMarkers(scenario)],
    };
  }

  var builders = {
    latency: function (scenario) {
      var points = scenario.load.latency.distribution;
      var xs = [];
      var ys = [];
      for (var i = 0; i < points.length; i += 1) {
        var p = points[i][0];
        xs.push(p >= 100 ? MAX_PERCENTILE_X : -Math.log10(1 - p / 100));
        ys.push(points[i][1]);
      }
      return {
        options: {
          title: 'Latency by percentile (/store_bulk, 2xx)',
          scales: { x: { time: false, range: [0, MAX_PERCENTILE_X] } },
          axes: [
            {
              label: 'percentile (log scale of 1 / (1 - p))',
              splits: function () {
                return [0, 1, 2, 3, 4, 5];
              },
              values: function (u, ticks) {
                return ticks.map(function (tick) {
                  if (tick >= MAX_PERCENTILE_X) return '100%';
                  return (Math.round((100 - 100 / Math.pow(10, tick)) * 1000) / 1000) + '%';
                });
              },
            },
            { label: 'ms' },
          ],
          series: [{ label: 'x' }, series('latency (ms)', COLORS[0], 'y', { points: { show: true } })],
        },
        data: [xs, ys],
      };
    },

    throughput: function (scenario) {
      var buckets = scenario.load.throughput;
      var xs = [];
      var acknowledged = [];
      var requests = [];
      var errors = [];
      var meanLatency = [];
      for (var i = 0; i < buckets.length; i += 1) {
        xs.push(seconds(buckets[i].tMs + 1000));
        acknowledged.push(buckets[i].acknowledgedItems);
        requests.push(buckets[i].requests);
        errors.push(buckets[i].errors);
        meanLatency.push(buckets[i].latencyMeanMs);
      }
      return {
        options: timeOptions(
          scenario,
          'Client throughput per second',
          [{ label: 'per second', scale: 'y' }, { label: 'mean latency (ms)', scale: 'ms', side: 1, grid: { show: false } }],
          [
            series('acknowledged items/s', COLORS[0]),
            series('requests/s', COLORS[1]),
            series('errors/s', COLORS[2]),
            series('mean latency (ms)', COLORS[3], 'ms', { dash: [4, 4] }),
          ],
        ),
        data: [xs, acknowledged, requests, errors, meanLatency],
      };
    },

    server: function (scenario) {
      var client = [[], []];
      scenario.load.throughput.forEach(function (bucket) {
        client[0].push(seconds(bucket.tMs + 1000));
        client[1].push(bucket.acknowledgedItems);
      });
      var server = [[], []];
      scenario.server.points.forEach(function (point) {
        server[0].push(seconds(point.tMs));
        server[1].push(point.acceptedPerSecond);
      });
      var lag = [[], []];
      scenario.verification.lag.series.forEach(function (point) {
        lag[0].push(seconds(point.tMs));
        lag[1].push(point.total);
      });
      var tables = [client, server, lag].filter(function (table) {
        return table[0].length > 0;
      });
      var labels = [];
      // Short loads fill one or two one-second buckets: show the points, or a lone point would not show.
      if (client[0].length) labels.push(series('client: acknowledged items/s', COLORS[0], 'y', { points: { show: true } }));
      if (server[0].length) labels.push(series('server: accepted items/s (/metrics)', COLORS[1]));
      if (lag[0].length) labels.push(series('Kafka lag (messages)', COLORS[2], 'lag'));
      return {
        options: timeOptions(
          scenario,
          'Client, server and Kafka lag',
          [{ label: 'items/s', scale: 'y' }, { label: 'lag (messages)', scale: 'lag', side: 1, grid: { show: false } }],
          labels,
        ),
        data: uPlot.join(tables),
      };
    },

    // Per consumer process: messages consumed per second and its own lag gauge.
    consumers: function (scenario) {
      var tables = [];
      var labels = [];
      (scenario.consumers || []).forEach(function (consumer, index) {
        var rates = [[], []];
        var lag = [[], []];
        consumer.points.forEach(function (point) {
          rates[0].push(seconds(point.tMs));
          rates[1].push(point.messagesPerSecond);
          lag[0].push(seconds(point.tMs));
          lag[1].push(point.consumerLag);
        });
        var color = COLORS[(index * 2) % COLORS.length];
        tables.push(rates, lag);
        labels.push(series(consumer.component + ': messages/s', color));
        labels.push(series(consumer.component + ': lag (messages)', color, 'lag', { dash: [4, 4] }));
      });
      return {
        options: timeOptions(
          scenario,
          'Consumers: messages written per second and lag (their /metrics)',
          [{ label: 'messages/s', scale: 'y' }, { label: 'lag (messages)', scale: 'lag', side: 1, grid: { show: false } }],
          labels,
        ),
        data: uPlot.join(tables),
      };
    },

    // Per consumer process: mean batch size, and mean batch and store write times.
    'consumer-latency': function (scenario) {
      var tables = [];
      var labels = [];
      (scenario.consumers || []).forEach(function (consumer, index) {
        var color = COLORS[(index * 2 + 1) % COLORS.length];
        var columns = [
          { key: 'meanBatchSize', label: 'mean batch size', scale: 'size', dash: null },
          { key: 'batchMeanMs', label: 'batch time (ms)', scale: 'ms', dash: [4, 4] },
          { key: 'postgresWriteMeanMs', label: 'Postgres write (ms)', scale: 'ms', dash: [1, 3] },
          { key: 'qdrantWriteMeanMs', label: 'Qdrant write (ms)', scale: 'ms', dash: [8, 3] },
        ];
        columns.forEach(function (column) {
          var present = consumer.points.some(function (point) {
            return point[column.key] !== null;
          });
          if (!present) return;
          var table = [[], []];
          consumer.points.forEach(function (point) {
            table[0].push(seconds(point.tMs));
            table[1].push(point[column.key]);
          });
          tables.push(table);
          labels.push(series(consumer.component + ': ' + column.label, color, column.scale, column.dash ? { dash: column.dash } : undefined));
        });
      });
      return {
        options: timeOptions(
          scenario,
          'Consumers: batch size, batch time and store write time (means per interval)',
          [{ label: 'messages per batch', scale: 'size' }, { label: 'ms', scale: 'ms', side: 1, grid: { show: false } }],
          labels,
        ),
        data: tables.length > 0 ? uPlot.join(tables) : [[]],
      };
    },

    stores: function (scenario) {
      var points = scenario.verification.countSeries;
      var xs = [];
      var acknowledged = [];
      var postgres = [];
      var qdrant = [];
      for (var i = 0; i < points.length; i += 1) {
        xs.push(seconds(points[i].tMs));
        acknowledged.push(points[i].acknowledged);
        postgres.push(points[i].postgres === undefined ? null : points[i].postgres);
        qdrant.push(points[i].qdrant === undefined ? null : points[i].qdrant);
      }
      return {
        options: timeOptions(
          scenario,
          'Items acknowledged and visible per store',
          [{ label: 'items' }],
          [series('acknowledged', COLORS[0]), series('postgres rows', COLORS[1]), series('qdrant points (exact count)', COLORS[3])],
        ),
        data: [xs, acknowledged, postgres, qdrant],
      };
    },

    cpu: function (scenario) {
      var harness = [[], []];
      scenario.harness.samples.forEach(function (sample) {
        harness[0].push(seconds(sample.tMs));
        harness[1].push(sample.cores);
      });
      var api = [[], []];
      scenario.server.points.forEach(function (point) {
        api[0].push(seconds(point.tMs));
        api[1].push(point.cpuCores);
      });
      var tables = [harness];
      var labels = [series('harness CPU (cores)', COLORS[4])];
      if (api[0].length) {
        tables.push(api);
        labels.push(series('API process CPU (cores, /metrics)', COLORS[5]));
      }
      return {
        options: timeOptions(scenario, 'CPU', [{ label: 'cores' }], labels),
        data: uPlot.join(tables),
      };
    },
  };

  var elements = document.querySelectorAll('.chart[data-chart]');
  for (var i = 0; i < elements.length; i += 1) {
    var element = elements[i];
    var scenario = scenarioByName(element.getAttribute('data-scenario'));
    var builder = builders[element.getAttribute('data-chart')];
    if (!scenario || !builder) continue;
    try {
      var built = builder(scenario);
      draw(element, built.options, built.data);
    } catch (error) {
      element.textContent = 'Chart failed to draw: ' + error;
      element.setAttribute('data-error', String(error));
    }
  }
})();
