// Card preview: build a CDS Hooks request for a sample patient, call the real service on this
// origin, and show the cards the way an EHR's CDS panel does. Everything from the service is put
// in the page with textContent; only card details go through innerHTML, and those are rendered
// server-side by /preview/api/markdown with raw HTML escaped.
'use strict';

(() => {
  const $ = (id) => document.getElementById(id);
  const state = { personas: [], serviceUrl: null, building: null };

  function el(tag, attrs = {}, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs)) {
      if (key === 'className') node.className = value;
      else if (key.startsWith('data')) node.setAttribute(key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`), value);
      else node.setAttribute(key, value);
    }
    for (const child of children) {
      if (child !== null && child !== undefined) node.append(child);
    }
    return node;
  }

  function pretty(value) {
    return JSON.stringify(value, null, 2);
  }

  function setStatus(text, isError = false) {
    const status = $('status');
    status.textContent = text;
    status.classList.toggle('error', isError);
  }

  function selectedHook() {
    return document.querySelector('input[name="hook"]:checked').value;
  }

  function currentPersona() {
    return state.personas.find((p) => p.id === $('persona').value);
  }

  function showPersona() {
    const persona = currentPersona();
    if (!persona) return;
    $('persona-summary').textContent = persona.summary;
    $('persona-intent').textContent = persona.intent;
    $('draft-label').textContent = selectedHook() === 'patient-view' ? '' : `Drafted orders: ${persona.draft}`;
    state.building = buildRequest(persona, selectedHook()).catch((error) => setStatus(String(error.message || error), true));
  }

  // The request for the chosen patient and hook goes into the editor, where it can be changed
  // before it is sent; order-select's selections get a checkbox per drafted order. Choosing a
  // patient and then a hook starts two builds whose answers may arrive in either order: only
  // the latest choice may fill the editor.
  let latestBuild = 0;
  async function buildRequest(persona, hook) {
    const build = ++latestBuild;
    const built = await fetch(`/preview/api/request?persona=${encodeURIComponent(persona.id)}&hook=${encodeURIComponent(hook)}`);
    if (build !== latestBuild) return;
    if (!built.ok) throw new Error(`could not build the request (${built.status})`);
    const { url, request } = await built.json();
    if (build !== latestBuild) return;
    state.serviceUrl = url;
    $('request-editor').value = pretty(request);
    $('curl').hidden = true;
    showSelections(request);
  }

  function draftLabel(resource) {
    const concept = resource.medicationCodeableConcept || {};
    const coding = (concept.coding || [])[0] || {};
    return concept.text || coding.display || `${resource.resourceType}/${resource.id}`;
  }

  function showSelections(request) {
    const box = $('selections');
    box.replaceChildren();
    const context = request.context || {};
    const entries = (context.draftOrders && context.draftOrders.entry) || [];
    $('selections-box').hidden = request.hook !== 'order-select' || entries.length === 0;
    if ($('selections-box').hidden) return;
    const selected = new Set(context.selections || []);
    for (const entry of entries) {
      const resource = entry.resource || {};
      const reference = `${resource.resourceType}/${resource.id}`;
      const input = el('input', { type: 'checkbox', value: reference, dataTestid: 'selection' });
      input.checked = selected.has(reference);
      input.addEventListener('change', applySelections);
      box.append(el('label', {}, input, ` ${draftLabel(resource)} `, el('code', { className: 'muted' }, reference)));
    }
  }

  function editedRequest() {
    try {
      return JSON.parse($('request-editor').value);
    } catch (error) {
      throw new Error(`the edited request is not valid JSON: ${error.message}`);
    }
  }

  function applySelections() {
    try {
      const request = editedRequest();
      request.context = request.context || {};
      request.context.selections = [...document.querySelectorAll('#selections input:checked')].map((i) => i.value);
      $('request-editor').value = pretty(request);
      setStatus(`${request.context.selections.length} draft(s) selected`);
    } catch (error) {
      setStatus(String(error.message || error), true);
    }
  }

  function shellQuote(text) {
    return `'${text.replace(/'/g, `'\\''`)}'`;
  }

  async function copyAsCurl() {
    try {
      const request = editedRequest();
      const url = new URL(state.serviceUrl, window.location.origin).href;
      const command = `curl -sS -X POST ${shellQuote(url)} -H 'Content-Type: application/json' --data-binary ${shellQuote(JSON.stringify(request))}`;
      $('curl').textContent = command;
      $('curl').hidden = false;
      try {
        await navigator.clipboard.writeText(command);
        $('curl-status').textContent = 'copied to the clipboard';
      } catch {
        $('curl-status').textContent = 'select the command below and copy it';
      }
    } catch (error) {
      setStatus(String(error.message || error), true);
    }
  }

  async function loadPersonas() {
    const response = await fetch('/preview/api/personas');
    state.personas = await response.json();
    const select = $('persona');
    for (const persona of state.personas) {
      select.append(el('option', { value: persona.id }, persona.title));
    }
    const wanted = new URLSearchParams(window.location.search).get('persona');
    if (wanted && state.personas.some((p) => p.id === wanted)) select.value = wanted;
    showPersona();
  }

  async function renderMarkdown(texts) {
    if (texts.length === 0) return [];
    const response = await fetch('/preview/api/markdown', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ markdown: texts }),
    });
    if (!response.ok) throw new Error(`markdown rendering failed (${response.status})`);
    return (await response.json()).html;
  }

  async function sendFeedback(entry) {
    const response = await fetch(`${state.serviceUrl}/feedback`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ feedback: [{ ...entry, outcomeTimestamp: new Date().toISOString() }] }),
    });
    setStatus(`feedback ${entry.outcome}: HTTP ${response.status}`, !response.ok);
  }

  function suggestionView(card, suggestion) {
    const payload = el('div', { className: 'payload', hidden: '' });
    const actions = (suggestion.actions || []).map((action) => ({
      type: action.type,
      description: action.description,
      ...(action.resource ? { resource: action.resource } : {}),
      ...(action.resourceId ? { resourceId: action.resourceId } : {}),
    }));
    payload.append(el('pre', { dataTestid: 'suggestion-payload' }, pretty(actions)));
    const accept = el('button', { type: 'button' }, 'Accept this suggestion');
    accept.addEventListener('click', () =>
      sendFeedback({ card: card.uuid, outcome: 'accepted', acceptedSuggestions: [{ id: suggestion.uuid }] }),
    );
    payload.append(accept);
    const label = suggestion.isRecommended ? `★ ${suggestion.label}` : suggestion.label;
    const button = el('button', {
      type: 'button',
      className: suggestion.isRecommended ? 'recommended' : '',
      dataTestid: 'suggestion',
      'aria-expanded': 'false',
    }, label);
    button.addEventListener('click', () => {
      payload.hidden = !payload.hidden;
      button.setAttribute('aria-expanded', String(!payload.hidden));
    });
    return el('div', { className: 'suggestion' }, button, payload);
  }

  function overrideView(card, cardNode) {
    const reasons = card.overrideReasons || [];
    const select = el('select', { 'aria-label': 'Override reason' });
    for (const reason of reasons) {
      select.append(el('option', { value: reason.code }, reason.display || reason.code));
    }
    const dismiss = el('button', { type: 'button', dataTestid: 'override' }, 'Override');
    dismiss.addEventListener('click', () => {
      const reason = reasons.find((r) => r.code === select.value);
      cardNode.classList.add('dismissed');
      const entry = { card: card.uuid, outcome: 'overridden' };
      if (reason) entry.overrideReason = { reason };
      sendFeedback(entry);
    });
    return el('div', { className: 'overrides' }, el('span', {}, 'Override reason:'), select, dismiss);
  }

  function cardView(card, detailHtml) {
    const indicator = ['info', 'warning', 'critical'].includes(card.indicator) ? card.indicator : 'info';
    const topic = (card.source && card.source.topic) || {};
    const node = el('article', { className: `card indicator-${indicator}`, dataTestid: 'card', dataTopic: topic.code || '' });
    node.append(
      el('div', { className: 'card-head' },
        el('span', { className: `badge indicator-${indicator}`, dataTestid: 'indicator' }, indicator),
        el('span', { className: 'topic' }, topic.display ? `${topic.display} (${topic.code})` : topic.code || ''),
        el('span', {}, (card.source && card.source.label) || '')),
      el('div', { className: 'card-summary', dataTestid: 'summary' }, card.summary),
    );
    if (detailHtml) {
      const detail = el('div', { className: 'card-detail', dataTestid: 'detail' });
      detail.innerHTML = detailHtml; // server-rendered, raw HTML escaped (cds_service/preview/safe_markdown.py)
      node.append(detail);
    }
    if (card.suggestions && card.suggestions.length) {
      const list = el('div', { className: 'suggestions' },
        el('span', { className: 'muted' }, card.selectionBehavior === 'at-most-one' ? 'Choose at most one:' : 'Suggestions:'));
      for (const suggestion of card.suggestions) list.append(suggestionView(card, suggestion));
      node.append(list);
    }
    if (card.links && card.links.length) {
      const links = el('div', { className: 'links' });
      for (const link of card.links) {
        const safe = /^https?:\/\//i.test(link.url);
        const persona = currentPersona();
        if (link.type === 'smart' && /\/timeline\/launch\.html$/.test(link.url) && persona) {
          // No EHR here to launch the SMART app: open the timeline on this sample patient's record.
          links.append(el('a', { href: `/timeline/?demo=${encodeURIComponent(persona.id)}`, target: '_blank',
            rel: 'noopener', dataTestid: 'timeline-link' }, `${link.label} ↗ (sample patient, no SMART launch)`));
          continue;
        }
        links.append(safe
          ? el('a', { href: link.url, target: '_blank', rel: 'noopener noreferrer' }, `${link.label} ↗`)
          : el('span', {}, `${link.label} (${link.type})`));
      }
      node.append(links);
    }
    if (card.overrideReasons && card.overrideReasons.length) node.append(overrideView(card, node));
    return node;
  }

  async function showCards(cards) {
    const container = $('cards');
    container.replaceChildren();
    if (!cards.length) {
      container.append(el('p', { className: 'muted', dataTestid: 'no-cards' }, 'The service returned no cards.'));
      return;
    }
    const details = await renderMarkdown(cards.map((card) => card.detail || ''));
    cards.forEach((card, index) => container.append(cardView(card, card.detail ? details[index] : null)));
  }

  async function run() {
    const persona = currentPersona();
    if (!persona) return;
    const button = $('run');
    button.disabled = true;
    setStatus('Building the request…');
    try {
      await state.building;
      const url = state.serviceUrl;
      const request = editedRequest();
      $('request-url').textContent = `POST ${url}`;
      $('raw-request').textContent = pretty(request);
      setStatus('Calling the service…');
      const started = performance.now();
      const response = await fetch(url, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify(request),
      });
      const elapsed = Math.round(performance.now() - started);
      const text = await response.text();
      let body = null;
      try { body = JSON.parse(text); } catch { body = null; }
      $('response-status').textContent = `HTTP ${response.status} · ${elapsed} ms`;
      $('raw-response').textContent = body ? pretty(body) : text;
      if (!response.ok || !body || !Array.isArray(body.cards)) {
        $('cards').replaceChildren(el('p', { className: 'error', dataTestid: 'call-error' },
          `The service answered HTTP ${response.status}; see the raw response below.`));
        setStatus(`HTTP ${response.status}`, true);
        return;
      }
      await showCards(body.cards);
      setStatus(`${body.cards.length} card(s) · HTTP ${response.status} · ${elapsed} ms`);
    } catch (error) {
      setStatus(String(error.message || error), true);
    } finally {
      button.disabled = false;
    }
  }

  document.addEventListener('DOMContentLoaded', () => {
    $('persona').addEventListener('change', showPersona);
    for (const radio of document.querySelectorAll('input[name="hook"]')) radio.addEventListener('change', showPersona);
    $('run').addEventListener('click', run);
    $('copy-curl').addEventListener('click', copyAsCurl);
    loadPersonas().catch((error) => setStatus(`could not load the sample patients: ${error.message}`, true));
  });
})();
