// LoadSpiker's HTML report: draws the charts from the page's run-data with Chart.js (Debian's
// libjs-chart.js, embedded in the page when LoadSpiker is built). Every chart states its units;
// the run's last second, when cut short, is drawn as a rate and marked, not as a cliff.
(function () {
  'use strict';
  const data = JSON.parse(document.getElementById('run-data').textContent);
  const colors = ['#2563eb', '#dc2626', '#16a34a', '#9333ea', '#ea580c', '#0891b2', '#4b5563'];
  Chart.defaults.animation = false;
  Chart.defaults.font.family = 'system-ui, sans-serif';
  Chart.defaults.maintainAspectRatio = false;
  let drawn = 0;

  function axis(title, extra) {
    return Object.assign({ title: { display: true, text: title }, beginAtZero: true }, extra || {});
  }
  function fmt(v, digits) {
    if (v === null || v === undefined || isNaN(v)) return '—';
    return Number(v).toLocaleString('en-US', { maximumFractionDigits: digits === undefined ? 2 : digits });
  }
  function chart(id, config) {
    const canvas = document.getElementById(id);
    if (!canvas) return null;
    const c = new Chart(canvas, config);
    canvas.dataset.series = c.data.datasets.map(d => d.label + ':' + d.data.length).join('|');
    drawn += 1;
    return c;
  }

  // Time series: one point per second; the last one may be partial.
  let rows = data.timeline || [];
  let partial = rows.length > 0 && rows[rows.length - 1].partial_secs !== undefined
    ? rows[rows.length - 1].partial_secs : null;
  const note = document.getElementById('partial-note');
  if (partial !== null && partial < 0.25 && rows.length > 1) {
    // A sliver of a second (the run's stragglers) says little even as a rate: left out.
    if (note) note.textContent = 'The run\'s last ' + fmt(partial, 3) + ' s (its last, partial second) are left out of these charts; the tables and totals count them.';
    rows = rows.slice(0, -1);
    partial = null;
  } else if (note && partial !== null) {
    note.textContent = 'The last second lasted ' + fmt(partial, 3) + ' s: its counts are scaled to a rate, and its point is drawn larger, joined by a dashed line.';
  }
  const seconds = rows.map(r => r.elapsed_secs);
  const last = rows.length - 1;
  const perSecond = key => rows.map((r, i) => {
    const v = r[key] || 0;
    return i === last && partial ? v / Math.max(partial, 0.001) : v;
  });
  const ms = key => rows.map(r => (r[key] === undefined ? null : r[key] / 1000));
  const partialSegment = { borderDash: ctx => (partial && ctx.p1DataIndex === last ? [6, 4] : undefined) };
  const partialPoint = ctx => (partial && ctx.dataIndex === last ? 5 : 2);
  const partialNote = {
    callbacks: {
      footer: items => (partial && items.some(it => it.dataIndex === last)
        ? 'last second lasted ' + fmt(partial, 3) + ' s: counts scaled to a rate' : ''),
    },
  };
  function line(label, values, i, extra) {
    return Object.assign({
      label, data: values, borderColor: colors[i % colors.length],
      backgroundColor: colors[i % colors.length], borderWidth: 1.5,
      pointRadius: partialPoint, segment: partialSegment, tension: 0,
    }, extra || {});
  }
  const xSeconds = axis('seconds since start', { beginAtZero: true, ticks: { precision: 0 } });
  function timeChart(id, datasets, yTitle, y2Title) {
    const scales = { x: xSeconds, y: axis(yTitle) };
    if (y2Title) scales.y2 = axis(y2Title, { position: 'right', grid: { drawOnChartArea: false } });
    return chart(id, {
      type: 'line', data: { labels: seconds, datasets },
      options: { interaction: { mode: 'index', intersect: false }, scales,
                 plugins: { tooltip: partialNote } },
    });
  }

  if (rows.length > 0) {
    const load = [line('VUs', rows.map(r => r.vus || 0), 0, { stepped: true })];
    if (data.open) {
      const started = rows.map((r, i) => {
        const n = data.steps.length > 0 && r.iterations ? r.iterations : r.requests;
        return i === last && partial ? n / Math.max(partial, 0.001) : n;
      });
      if ((data.target_rate || []).length > 0) {
        load.push(line('arrival rate asked/s', data.target_rate.slice(0, rows.length), 4,
                       { yAxisID: 'y2', borderDash: [4, 3] }));
      }
      load.push(line('iterations/s', started, 2, { yAxisID: 'y2' }));
      load.push(line('iterations dropped/s', perSecond('dropped_iterations'), 1, { yAxisID: 'y2' }));
    }
    timeChart('chart-vus', load, 'VUs', data.open ? 'iterations per second' : null);
    timeChart('chart-rps', [line('requests/s', perSecond('requests'), 0),
                            line('errors/s', perSecond('errors'), 1)], 'per second');
    timeChart('chart-latency', [line('p50', ms('p50_us'), 2), line('p95', ms('p95_us'), 4),
                                line('p99', ms('p99_us'), 1)], 'service time, ms');
    if (data.intended) {
      timeChart('chart-corrected', [line('corrected p50', ms('corrected_p50_us'), 2),
                                    line('corrected p95', ms('corrected_p95_us'), 4),
                                    line('corrected p99', ms('corrected_p99_us'), 1)],
                'corrected latency (from the intended start), ms');
    }
  }

  // The distribution: a histogram of log-spaced buckets and the percentile spectrum.
  const dist = data.distribution;
  if (dist && dist.buckets.length > 0) {
    chart('chart-histogram', {
      type: 'bar',
      data: {
        labels: dist.buckets.map(b => fmt(b.hi_ms, 3)),
        datasets: [{ label: 'requests', data: dist.buckets.map(b => b.count),
                     backgroundColor: colors[0] }],
      },
      options: {
        scales: { x: axis('latency, ms (bucket upper bound, log-spaced)'), y: axis('requests') },
        plugins: { tooltip: { callbacks: { title: items => {
          const b = dist.buckets[items[0].dataIndex];
          return fmt(b.lo_ms, 3) + ' – ' + fmt(b.hi_ms, 3) + ' ms';
        } } } },
      },
    });
  }
  const spec = data.spectrum;
  if (spec && spec.percentiles.length > 0) {
    const x = spec.percentiles.map(p => 1 / (1 - Math.min(p, 99.9999) / 100));
    const sets = [{ label: 'service time', data: spec.service.map((v, i) => ({ x: x[i], y: v })),
                    borderColor: colors[0], backgroundColor: colors[0], borderWidth: 1.5 }];
    if (spec.corrected) {
      sets.push({ label: 'corrected latency', data: spec.corrected.map((v, i) => ({ x: x[i], y: v })),
                  borderColor: colors[1], backgroundColor: colors[1], borderWidth: 1.5 });
    }
    const label = v => {
      const p = 100 * (1 - 1 / v);
      return fmt(p, 4) + '%';
    };
    chart('chart-spectrum', {
      type: 'line', data: { datasets: sets },
      options: {
        parsing: false,
        scales: {
          x: { type: 'logarithmic', title: { display: true, text: 'percentile (log scale of 1/(1-p))' },
               ticks: { callback: v => ([1, 2, 10, 100, 1000, 10000, 100000].includes(v) ? label(v) : '') } },
          y: { type: 'logarithmic', title: { display: true, text: 'latency, ms (log)' } },
        },
        plugins: { tooltip: { callbacks: {
          title: items => 'p' + label(items[0].parsed.x).replace('%', ''),
          label: it => it.dataset.label + ': ' + fmt(it.parsed.y, 3) + ' ms',
        } } },
      },
    });
  }

  // Scenarios and steps; status codes and errors; checks.
  const requestsAndFailures = list => [
    { label: 'requests', data: list.map(s => s.requests), backgroundColor: colors[0] },
    { label: 'failed', data: list.map(s => s.failed), backgroundColor: colors[1] },
  ];
  const steps = data.steps || [];
  if (steps.length > 0) {
    chart('chart-steps', {
      type: 'bar',
      data: {
        labels: steps.map(s => s.name),
        datasets: requestsAndFailures(steps).concat([
          { label: 'p95 ms', type: 'line', data: steps.map(s => s.p95_ms), yAxisID: 'y2',
            borderColor: colors[4], backgroundColor: colors[4] },
        ]),
      },
      options: { scales: { y: axis('requests'),
                           y2: axis('p95 latency, ms', { position: 'right', grid: { drawOnChartArea: false } }) } },
    });
  }
  const scenarios = data.scenarios || [];
  if (scenarios.length > 0) {
    chart('chart-scenarios', {
      type: 'bar',
      data: {
        labels: scenarios.map(s => s.name),
        datasets: requestsAndFailures(scenarios),
      },
      options: { scales: { x: axis('scenario'), y: axis('requests') },
                 plugins: { tooltip: { callbacks: { footer: items =>
                   scenarios[items[0].dataIndex].steps + ' step(s)' } } } },
    });
  }
  const codes = Object.keys(data.status || {});
  const kinds = Object.keys(data.errors || {});
  if (codes.length + kinds.length > 0) {
    chart('chart-status', {
      type: 'bar',
      data: {
        labels: codes.concat(kinds),
        datasets: [{ label: 'responses and errors',
                     data: codes.map(c => data.status[c]).concat(kinds.map(k => data.errors[k])),
                     backgroundColor: codes.map(c => (c >= '400' ? colors[1] : colors[2]))
                       .concat(kinds.map(() => colors[6])) }],
      },
      options: { scales: { x: axis('status code or error kind'), y: axis('count') } },
    });
  }
  const checks = Object.keys(data.checks || {});
  if (checks.length > 0) {
    chart('chart-checks', {
      type: 'bar',
      data: { labels: checks,
              datasets: [{ label: 'pass rate %', data: checks.map(c => 100 * data.checks[c].pass_rate),
                           backgroundColor: checks.map(c => (data.checks[c].pass_rate < 1 ? colors[1] : colors[2])) }] },
      options: { indexAxis: 'y', scales: { x: axis('passed, %', { max: 100 }), y: axis('check') } },
    });
  }
  document.body.dataset.charts = String(drawn);
})();
