// The relapse timeline: read the patient's record with the user's SMART token (the searches the
// CDS service's discovery declares, every page), ask the service to explain it
// (POST api/explain, authorised by the card link's appContext token), draw five parts.
// Development: index.html?demo=<sample persona id> uses the preview page's sample record instead.
"use strict";
(function () {
  const $ = (selector) => document.querySelector(selector);
  const statusLine = $("#status");
  const timing = { start: performance.now() };
  window.timelineTiming = timing;

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) {
      if (value === undefined || value === null || value === false) continue;
      if (name === "class") node.className = value;
      else if (name === "text") node.textContent = value;
      else node.setAttribute(name, value === true ? "" : String(value));
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  function fail(message) {
    statusLine.textContent = message;
    statusLine.classList.add("error");
    document.body.dataset.state = "error";
  }

  function warn(message) {
    $("#warnings").append(el("li", { text: message }));
  }

  if (!window.FHIR || !window.Plot || !window.d3) {
    fail("The timeline's browser libraries are not installed on this server (static/vendor is missing). " +
         "An administrator runs `rrmm-cds timeline vendor` once after installing the service.");
    return;
  }

  const params = new URLSearchParams(window.location.search);
  const demo = params.get("demo");
  (demo ? demoRecord(demo) : smartRecord())
    .then(({ body, token }) => {
      timing.fetched = performance.now();
      statusLine.textContent = "Explaining…";
      return explain(body, token);
    })
    .then((data) => {
      timing.explained = performance.now();
      window.timelineData = data;
      draw(data);
      window.addEventListener("resize", debounce(() => draw(data), 200));
      timing.drawn = performance.now();
      // Milliseconds since this page's navigation started (for the browser test's measurement).
      document.body.dataset.readMs = Math.round(timing.fetched);
      document.body.dataset.explainedMs = Math.round(timing.explained);
      document.body.dataset.drawnMs = Math.round(timing.drawn);
      statusLine.textContent = "";
      document.body.dataset.state = "drawn";
    })
    .catch((err) => fail(err.message || String(err)));

  // -- getting the record ------------------------------------------------------------------------
  async function getJson(url, options) {
    const response = await fetch(url, { credentials: "same-origin", ...(options || {}) });
    let body = null;
    try { body = await response.json(); } catch (_ignored) { body = null; }
    if (!response.ok) {
      const said = body && body.issue ? body.issue.map((i) => i.diagnostics).join("; ") : `HTTP ${response.status}`;
      const error = new Error(`${url.split("?")[0]}: ${said}`);
      error.status = response.status;
      throw error;
    }
    return body;
  }

  async function demoRecord(persona) {
    const answer = await getJson(`../preview/api/request?persona=${encodeURIComponent(persona)}&hook=patient-view`);
    const request = answer.request;
    return { body: { patientId: request.context.patientId, resources: request.prefetch }, token: null };
  }

  async function smartRecord() {
    const client = await FHIR.oauth2.ready();
    const config = await getJson("config.json");
    const discovery = await getJson(config.discovery);
    const service = discovery.services.find((s) => s.id === config.serviceId);
    if (!service) throw new Error(`the CDS service ${config.serviceId} is not in the discovery document`);
    const patientId = client.patient.id;
    if (!patientId) throw new Error("the EHR gave no patient in the launch context (scope launch/patient)");
    const appContext = client.state.tokenResponse && client.state.tokenResponse.appContext;
    const resources = {};
    const keys = Object.keys(service.prefetch);
    let done = 0;
    await Promise.all(keys.map(async (key) => {
      const query = service.prefetch[key].replace(/\{\{context\.patientId\}\}/g, encodeURIComponent(patientId));
      try {
        // pageLimit 0: follow every `next` link; flat false: the Bundles as the server sent them.
        resources[key] = await client.request(query, { pageLimit: 0, flat: false });
      } catch (err) {
        warn(`${query.split("?")[0]}: not read (${err.status ? "HTTP " + err.status : err.message}); the timeline lacks it`);
      }
      done += 1;
      statusLine.textContent = `Reading the record… ${done}/${keys.length} searches`;
    }));
    return { body: { patientId, resources }, token: typeof appContext === "string" && appContext ? appContext : null };
  }

  function explain(body, token) {
    const headers = { "Content-Type": "application/json" };
    if (token) headers.Authorization = `Bearer ${token}`;
    return getJson("api/explain", { method: "POST", headers, body: JSON.stringify(body) }).catch((err) => {
      if (err.status === 401) {
        throw new Error("The service refused to explain this record: open the timeline again from the card " +
                        "(its link is valid for a limited time and for that patient only).");
      }
      throw err;
    });
  }

  // -- drawing -----------------------------------------------------------------------------------
  const RED = "#b00020", ORANGE = "#e65100", GREEN = "#2e7d32", PURPLE = "#6a1b9a";
  const day = (iso) => new Date(`${iso}T00:00:00Z`);
  const fmt = (n) => (typeof n === "number" ? (Math.round(n * 100) / 100).toString() : String(n));
  const sources = (evidence) => (evidence || []).map((e) =>
    `${e.resourceType}/${e.id}${e.date ? " " + e.date : ""}${e.text ? " — " + e.text : ""}`).join("\n");

  function draw(data) {
    $("#subtitle").textContent = `Evaluated ${data.evaluationDate} · knowledge base ${data.kbVersion} · ` +
      `${data.resourceCount} resources · decision: ${data.decision.status}`;
    const domain = timeDomain(data);
    drawLines(data, domain);
    drawResponse(data, domain);
    drawRenal(data, domain);
    drawDecision(data);
    drawFacts(data);
  }

  function widthOf(section) {
    return Math.max(320, Math.min(1200, $(section).clientWidth - 24));
  }

  function timeDomain(data) {
    const dates = [data.evaluationDate];
    for (const line of data.lines) { dates.push(line.start); for (const x of line.exposures) dates.push(x.start); }
    for (const name of ["serumMProtein", "urineMProtein", "flcDifference", "creatinine", "weight"]) {
      for (const p of data.series[name]) dates.push(p.date);
    }
    for (const e of data.events.progressions) dates.push(e.date);
    const sorted = dates.sort();
    const start = day(sorted[0]);
    start.setUTCMonth(start.getUTCMonth() - 2);
    const end = day(data.evaluationDate);
    end.setUTCMonth(end.getUTCMonth() + 2);
    return [start, end];
  }

  function place(section, plot) {
    const box = $(`${section} .chart`);
    box.replaceChildren(...(Array.isArray(plot) ? plot : [plot]));
  }

  function eventRules(data, domain, options) {
    const marks = [
      Plot.ruleX(data.events.progressions, {
        x: (d) => day(d.date), stroke: RED, strokeWidth: 2, strokeDasharray: "6,3",
        ariaLabel: (d) => `progression ${d.date}`, title: (d) => `Progression ${d.date}: ${d.description}\n${sources(d.evidence)}`,
        tip: options.tips ? { fill: "white" } : undefined,
      }),
      Plot.text(data.events.progressions, {
        x: (d) => day(d.date), frameAnchor: "top", text: () => "PD", fill: RED, dy: -4, fontWeight: "bold",
      }),
    ];
    if (options.unconfirmed) {
      marks.push(Plot.ruleX(data.events.unconfirmedRises, {
        x: (d) => day(d.date), stroke: ORANGE, strokeWidth: 2, strokeDasharray: "2,3",
        ariaLabel: (d) => `unconfirmed rise ${d.date}`, title: (d) => `Unconfirmed rise ${d.date}: ${d.description}`,
      }));
    }
    marks.push(Plot.ruleX([day(data.evaluationDate)], { stroke: "#555", strokeDasharray: "1,3", ariaLabel: () => "today" }));
    return marks;
  }

  function drawLines(data, domain) {
    const rows = [];
    for (const line of data.lines) {
      for (const x of line.exposures) rows.push({ ...x, line: line.number, lane: `Line ${line.number} · ${x.drug}` });
    }
    const legend = $("#lines .legend");
    if (!rows.length) {
      place("#lines", el("p", { class: "empty", text: "No anti-myeloma treatment in the record." }));
      legend.textContent = "";
      return;
    }
    const lanes = [...new Set(rows.map((r) => r.lane))];
    const transplants = data.transplants.filter((t) => t.date);
    const plot = Plot.plot({
      width: widthOf("#lines"), height: 40 + 22 * lanes.length, marginLeft: 210, marginRight: 80, marginTop: 24,
      x: { type: "utc", domain, label: null, grid: true },
      y: { domain: lanes, label: null },
      color: { type: "ordinal", scheme: "tableau10", legend: false },
      marks: [
        // Each line's span, behind its lanes, labelled at its start.
        Plot.rectX(data.lines, {
          x1: (d) => day(d.start), x2: (d) => day(d.end), fill: (d) => `Line ${d.number}`, fillOpacity: 0.07,
          ariaLabel: (d) => `line ${d.number} ${d.start}`,
        }),
        Plot.text(data.lines, {
          x: (d) => day(d.start), frameAnchor: "top", text: (d) => `L${d.number}`, textAnchor: "start", dx: 2, dy: -14,
          fontWeight: "bold",
        }),
        Plot.barX(rows, {
          // At least two weeks wide, so a one-day exposure (conditioning melphalan) stays visible.
          x1: (d) => day(d.start), x2: (d) => new Date(Math.max(+day(d.end), +day(d.start) + 14 * 86400000)),
          y: "lane", fill: (d) => `Line ${d.line}`,
          fillOpacity: (d) => (d.maintenance ? 0.45 : 0.9), stroke: (d) => (d.refractory ? RED : "none"), strokeWidth: 2.5,
          inset: 2,
          ariaLabel: (d) => `exposure line ${d.line} ${d.drug}${d.maintenance ? " maintenance" : ""}${d.refractory ? " refractory" : ""}`,
          title: (d) => `${d.drug} (line ${d.line}${d.maintenance ? ", maintenance" : ""})\n${d.start} – ${d.ongoing ? "ongoing" : d.end}` +
            `${d.refractory ? "\nrefractory: progression on or within 60 days of this exposure" : ""}` +
            `${d.stoppedForProgression ? "\nstopped for progression" : ""}\n${sources(d.evidence)}`,
          tip: { fill: "white" },
        }),
        Plot.text(rows.filter((d) => d.refractory), {
          x: (d) => day(d.end), y: "lane", text: () => "refractory", dx: 4, textAnchor: "start", fill: RED, clip: false,
        }),
        Plot.text(rows.filter((d) => d.maintenance && day(d.end) - day(d.start) > 300 * 86400000), {
          x: (d) => day(d.start), y: "lane", text: () => "maintenance", dx: 4, textAnchor: "start", fill: "#222", fontSize: 9,
        }),
        Plot.ruleX(transplants, {
          x: (d) => day(d.date), stroke: PURPLE, strokeWidth: 3, strokeOpacity: 0.6, ariaLabel: (d) => `ASCT ${d.date}`,
          title: (d) => `Autologous stem-cell transplant ${d.date}\n${sources(d.evidence)}`, tip: { fill: "white" },
        }),
        Plot.text(transplants, { x: (d) => day(d.date), frameAnchor: "bottom", text: () => "ASCT", fill: PURPLE, dy: 12, fontWeight: "bold" }),
        ...eventRules(data, domain, { tips: false, unconfirmed: false }),
      ],
    });
    place("#lines", plot);
    legend.replaceChildren(
      el("span", { class: "key refractory", text: "red outline: refractory exposure" }),
      el("span", { class: "key maintenance", text: "pale bar: maintenance" }),
      el("span", { class: "key asct", text: "purple rule: ASCT" }),
      el("span", { class: "key pd", text: "red dashed rule: confirmed progression (PD)" }),
      el("span", { class: "count", "data-lines": data.lines.length, text: `${data.lines.length} line(s) of therapy` }),
    );
  }

  const RESPONSE_SERIES = [
    ["serumMProtein", "serum M-protein", "g/dL", "#1565c0"],
    ["urineMProtein", "urine M-protein", "mg/24 h", "#00838f"],
    ["flcDifference", "involved − uninvolved FLC", "mg/L", "#5d4037"],
  ];

  function drawResponse(data, domain) {
    const plots = [];
    for (const [name, label, unit, colour] of RESPONSE_SERIES) {
      const points = data.series[name];
      if (!points.length) continue;
      const nadirs = data.events.nadirs.filter((n) => n.series === name);
      plots.push(Plot.plot({
        width: widthOf("#response"), height: 190, marginLeft: 60, marginTop: 24,
        x: { type: "utc", domain, label: null, grid: true },
        y: { label: `${label} (${unit})`, grid: true, zero: true },
        marks: [
          Plot.line(points, { x: (d) => day(d.date), y: "value", stroke: colour }),
          Plot.dot(points, {
            x: (d) => day(d.date), y: "value", fill: colour, r: 3,
            ariaLabel: (d) => `${name} ${d.date} ${fmt(d.value)}`,
            title: (d) => `${label} ${fmt(d.value)} ${unit}\n${d.date}\n${sources(d.evidence)}`, tip: { fill: "white" },
          }),
          Plot.dot(nadirs, {
            x: (d) => day(d.date), y: "value", symbol: "triangle2", r: 7, fill: GREEN, stroke: "white",
            ariaLabel: (d) => `nadir line ${d.line} ${d.date}`,
            title: (d) => `Nadir of line ${d.line}: ${fmt(d.value)} ${unit} on ${d.date}\n${sources(d.evidence)}`,
          }),
          ...eventRules(data, domain, { tips: true, unconfirmed: true }),
        ],
      }));
    }
    place("#response", plots.length ? plots : el("p", { class: "empty", text: "No M-protein or free light chain values in the record." }));
    const box = $("#response .criteria");
    box.replaceChildren();
    for (const c of data.events.imwgCriteria) {
      const p = c.parameters;
      const relative = `≥ ${fmt(100 * p.imwg_min_relative_increase)} % over the nadir`;
      let absolute = "";
      if (c.kind === "imwg-serum") {
        absolute = ` and ≥ ${fmt(p.serum_min_increase_g_dl)} g/dL (≥ ${fmt(p.serum_high_nadir_min_increase_g_dl)} g/dL when the nadir is ≥ ${fmt(p.serum_high_nadir_g_dl)} g/dL)`;
      } else if (c.kind === "imwg-urine") {
        absolute = ` and ≥ ${fmt(p.urine_min_increase_mg_24h)} mg/24 h`;
      } else {
        absolute = ` and > ${fmt(p.flc_min_increase_mg_l)} mg/L`;
      }
      box.append(el("p", { class: "criterion", "data-kind": c.kind },
        el("strong", { text: `IMWG criterion (${c.analyte}): ` }),
        `a rise ${relative}${absolute}, confirmed by the next value — fired on ${c.dates.join(", ")}.`));
    }
    for (const rise of data.events.unconfirmedRises) {
      box.append(el("p", { class: "criterion unconfirmed", text: `Unconfirmed rise ${rise.date}: ${rise.description}` }));
    }
  }

  function drawRenal(data, domain) {
    const renal = data.renal;
    const plots = [];
    const small = (label, points, colour, extra) => Plot.plot({
      width: widthOf("#renal"), height: 170, marginLeft: 60, marginTop: 20,
      x: { type: "utc", domain, label: null, grid: true },
      y: { label, grid: true, zero: true },
      marks: [
        ...(extra || []),
        Plot.line(points, { x: (d) => day(d.date), y: "value", stroke: colour }),
        Plot.dot(points, {
          x: (d) => day(d.date), y: "value", fill: colour, r: 3,
          ariaLabel: (d) => `${label} ${d.date} ${fmt(d.value)}`,
          title: (d) => `${label} ${fmt(d.value)}\n${d.date}\n${sources(d.evidence)}`, tip: { fill: "white" },
        }),
        Plot.ruleX([day(data.evaluationDate)], { stroke: "#555", strokeDasharray: "1,3" }),
      ],
    });
    if (data.series.creatinine.length) plots.push(small("creatinine (mg/dL)", data.series.creatinine, "#6d4c41"));
    const clearance = [
      ...data.series.egfr.map((p) => ({ ...p, kind: "eGFR" })),
      ...data.series.measuredCrcl.map((p) => ({ ...p, kind: "measured CrCl" })),
    ];
    const current = renal.crclMlMin !== null
      ? [{ date: data.evaluationDate, value: renal.crclMlMin, kind: renal.method, evidence: renal.evidence }] : [];
    const thresholds = [...new Set(renal.bands.filter((b) => b.crclBelow !== null).map((b) => b.crclBelow))].sort((a, b) => a - b);
    const applying = renal.crclMlMin === null ? null : thresholds.find((t) => renal.crclMlMin < t);
    const lower = applying === undefined || applying === null ? null : (thresholds.filter((t) => t < applying).pop() || 0);
    if (clearance.length || current.length || thresholds.length) {
      const extra = [];
      if (applying !== null && applying !== undefined) {
        extra.push(Plot.rectY([{ y1: lower, y2: applying }], {
          x1: domain[0], x2: domain[1], y1: "y1", y2: "y2", fill: ORANGE, fillOpacity: 0.15,
          ariaLabel: () => `renal band ${lower}-${applying}`,
        }));
      }
      extra.push(Plot.ruleY(thresholds, { stroke: ORANGE, strokeDasharray: "4,3", ariaLabel: (t) => `renal threshold ${t}` }));
      extra.push(Plot.text(thresholds, { x: domain[0], y: (t) => t, text: (t) => `CrCl < ${t}`, textAnchor: "start", dy: -6, fill: ORANGE, fontSize: 9 }));
      extra.push(Plot.dot(current, {
        x: (d) => day(d.date), y: "value", symbol: "diamond", r: 7, fill: ORANGE, stroke: "#000",
        ariaLabel: (d) => `CrCl used for dosing ${fmt(d.value)}`,
        title: (d) => `CrCl used for dosing: ${fmt(d.value)} mL/min (${d.kind})\n${sources(d.evidence)}`, tip: { fill: "white" },
      }));
      plots.push(small("CrCl / eGFR (mL/min)", clearance, "#ef6c00", extra));
    }
    if (data.series.weight.length) plots.push(small("weight (kg)", data.series.weight, "#455a64"));
    place("#renal", plots.length ? plots : el("p", { class: "empty", text: "No creatinine, clearance or weight values in the record." }));
    const legend = $("#renal .legend");
    const bandText = renal.bands.map((b) => `${b.drug}: ${b.dialysis ? "dialysis" : "CrCl < " + b.crclBelow}${b.value ? " → " + b.value : ""}`);
    legend.replaceChildren(...[
      el("span", { "data-crcl": renal.crclMlMin === null ? "unknown" : fmt(renal.crclMlMin),
        text: renal.crclMlMin === null
          ? (renal.dialysis ? "On dialysis." : "CrCl unknown: no recent creatinine and weight.")
          : `CrCl used for dosing: ${fmt(renal.crclMlMin)} mL/min (${renal.method})${renal.dialysis ? ", on dialysis" : ""}.` }),
      bandText.length ? el("span", { class: "bands", text: ` Renal dose bands of the recommended regimen: ${bandText.join("; ")}.` }) : null,
    ].filter(Boolean));
  }

  function sentence(s) { return s ? s.text : ""; }

  function drawDecision(data) {
    const box = $("#decision .body");
    const d = data.decision;
    const parts = [el("p", { class: "status", "data-status": d.status, text: `Status: ${d.status}` })];
    const t = d.treatment;
    if (t) {
      parts.push(el("p", { class: "row", "data-row": t.rowId },
        el("strong", { text: `Matched row ${t.rowId}` }), ` — ${t.rowState}`,
        t.listRowId !== t.rowId ? ` (uses the list of ${t.listRowId})` : "", ` · sources ${t.seeds.join(", ")}`));
      parts.push(el("p", {}, el("strong", { text: "Candidates in list order: " }), t.candidates.join(" → ") || "none"));
      const excluded = el("ul", { class: "excluded" });
      for (const x of t.excluded) {
        excluded.append(el("li", { "data-regimen": x.regimenId, title: x.reason.key },
          el("strong", { text: x.regimenId }), ` passed over (${x.ruleId}${x.drug ? ", " + x.drug : ""}): ${sentence(x.reason)}`));
      }
      parts.push(el("h3", { text: `Passed over (${t.excluded.length})` }), t.excluded.length ? excluded : el("p", { text: "None." }));
      if (t.modifiers.length) {
        const mods = el("ul", { class: "modifiers" });
        for (const m of t.modifiers) {
          mods.append(el("li", { "data-kind": m.kind }, el("strong", { text: m.kind }),
            `: chose ${m.chosen || "—"}${m.passedOver.length ? ", passed over " + m.passedOver.join(", ") : ""}. ${sentence(m.note)}`));
        }
        parts.push(el("h3", { text: "Modifiers applied" }), mods);
      }
      const options = el("ol", { class: "options" });
      for (const o of t.options) {
        options.append(el("li", { "data-regimen": o.regimenId, class: o.recommended ? "recommended" : "" },
          el("strong", { text: `${o.regimenId}${o.recommended ? " (recommended)" : ""}` }), ` — ${o.drugs.join(", ")}`,
          el("ul", {}, o.doses.map((dose) => el("li", {},
            `${dose.drug} ${fmt(dose.value)} ${dose.unit} (${dose.ruleId})`,
            dose.adjustments.length ? ` — ${dose.adjustments.map(sentence).join("; ")}` : "")))));
      }
      parts.push(el("h3", { text: "Options" }), options);
      if (t.notes.length) parts.push(el("h3", { text: "Notes" }), el("ul", {}, t.notes.map((n) => el("li", { text: sentence(n) }))));
      // The knowledge base may add the label eligibility of the T-cell redirecting products to the trace.
      const eligibilityKey = Object.keys(t).find((k) => /eligib/i.test(k)) || Object.keys(d).find((k) => /eligib/i.test(k));
      const eligibility = eligibilityKey ? (t[eligibilityKey] ?? d[eligibilityKey]) : null;
      if (eligibility && (!Array.isArray(eligibility) || eligibility.length)) {
        parts.push(el("h3", { text: "Label eligibility (T-cell redirecting products)" }),
          el("ul", { class: "eligibility" }, (Array.isArray(eligibility) ? eligibility : [eligibility]).map((e) =>
            el("li", { text: typeof e === "string" ? e : (e.text || sentence(e.reason) || JSON.stringify(e)) }))));
      }
      if (t.supportive.length) {
        parts.push(el("h3", { text: "Supportive care" }),
          el("ul", {}, t.supportive.map((s) => el("li", {}, `${s.need}: ${s.option || "—"} (${s.ruleId}) — ${sentence(s.reason)}`))));
      }
    }
    for (const card of d.cards || []) {
      parts.push(el("p", { class: "family", "data-family": card.family },
        el("strong", { text: `${card.family}: ` }), sentence(card.summary), ` (${card.ruleIds.join(", ")})`));
    }
    if (d.dataGaps) {
      parts.push(el("h3", { text: "Data gaps" }), el("ul", {}, d.dataGaps.gaps.map((g) => el("li", { "data-gap": g.code, text: sentence(g.text) }))));
    }
    box.replaceChildren(...parts);
  }

  function summary(value) {
    if (value === null || value === undefined) return "—";
    if (typeof value !== "object") return String(value);
    const text = JSON.stringify(value);
    return text.length > 160 ? `${text.slice(0, 157)}…` : text;
  }

  function drawFacts(data) {
    const table = el("table", { class: "facts" },
      el("thead", {}, el("tr", {}, el("th", { text: "Fact" }), el("th", { text: "Value" }), el("th", { text: "Source resources" }))));
    const body = el("tbody");
    for (const fact of data.facts) {
      const value = summary(fact.value);
      const full = typeof fact.value === "object" && fact.value !== null ? JSON.stringify(fact.value, null, 1) : null;
      body.append(el("tr", { "data-fact": fact.name },
        el("th", { scope: "row", text: fact.name }),
        el("td", { title: full && full.length > 160 ? full.slice(0, 4000) : undefined, text: value }),
        el("td", {}, fact.evidence.length
          ? el("ul", { class: "sources" }, fact.evidence.slice(0, 12).map((e) => el("li", {
            title: `${e.resourceType}/${e.id}${e.date ? "\n" + e.date : ""}${e.value !== undefined ? "\nvalue " + fmt(e.value) + (e.unit ? " " + e.unit : "") : ""}`,
            text: `${e.resourceType}/${e.id}${e.date ? " · " + e.date : ""}${e.text ? " · " + e.text : ""}`,
          })), fact.evidence.length > 12 ? el("li", { text: `… ${fact.evidence.length - 12} more` }) : null)
          : "—")));
    }
    table.append(body);
    $("#facts .body").replaceChildren(table);
  }

  function debounce(fn, ms) {
    let timer = null;
    return () => { clearTimeout(timer); timer = setTimeout(fn, ms); };
  }
})();
