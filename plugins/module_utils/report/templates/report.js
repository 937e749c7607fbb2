// The compliance report page: filters, views and the detail of a cell. Everything it shows is
// already in the page (rendered and escaped on the controller); it only hides, shows and copies.
(function () {
  "use strict";
  var $ = function (sel, root) { return (root || document).querySelector(sel); };
  var $$ = function (sel, root) { return Array.prototype.slice.call((root || document).querySelectorAll(sel)); };
  var data = JSON.parse($("#report-data").textContent);

  // Per cell (key "h0-RAC-01"): its host, control, family and the text the search looks in: host,
  // control, title and the cell's detail (summary, checks, evidence).
  var cells = {};
  $$("template[data-key]").forEach(function (t) {
    var key = t.dataset.key, cut = key.indexOf("-"), host = key.slice(0, cut), control = key.slice(cut + 1);
    cells[key] = {
      host: host,
      control: control,
      family: control.slice(0, 3),
      text: [data.hosts[host], control, data.controls[control], t.content.textContent].join(" ").toLowerCase()
    };
  });

  var state = { statuses: [], family: "", host: "", words: [] };
  var family = $("#filter-family"), host = $("#filter-host"), text = $("#filter-text");

  function matches(el) {
    var cell = cells[el.dataset.key];
    if (state.statuses.length && state.statuses.indexOf(el.dataset.s) < 0) return false;
    if (state.family && cell.family !== state.family) return false;
    if (state.host) {
      var members = state.host.indexOf("g:") === 0 ? data.groups[state.host.slice(2)] || [] : [state.host];
      if (members.indexOf(cell.host) < 0) return false;
    }
    return state.words.every(function (w) { return cell.text.indexOf(w) >= 0; });
  }

  function apply() {
    var shown = 0, total = 0, columns = {};
    $$(".matrix td[data-key]").forEach(function (td) {
      var on = matches(td);
      td.classList.toggle("off", !on);
      total += 1;
      if (on) { shown += 1; columns[cells[td.dataset.key].control] = true; }
    });
    $$(".matrix tbody tr").forEach(function (tr) { tr.hidden = !tr.querySelector("td[data-key]:not(.off)"); });
    $$(".matrix th[data-col]").forEach(function (th) { th.hidden = !columns[th.dataset.col]; });
    $$(".matrix td[data-key]").forEach(function (td) { td.hidden = !columns[cells[td.dataset.key].control]; });
    $$(".matrix th[data-fam]").forEach(function (th) {
      var span = $$('.matrix th[data-col^="' + th.dataset.fam + '-"]:not([hidden])').length;
      th.hidden = span === 0;
      th.colSpan = Math.max(span, 1);
    });
    $$(".rows tr[data-key]").forEach(function (tr) { tr.classList.toggle("off", !matches(tr)); });
    $$("details[data-item]").forEach(function (d) { d.hidden = !d.querySelector("tr[data-key]:not(.off)"); });
    $$("[data-family-section]").forEach(function (g) { g.hidden = !g.querySelector("details[data-item]:not([hidden])"); });
    $("#shown").textContent = shown + " of " + total + " cells";
    $$("[data-status-pick]").forEach(function (b) {
      b.setAttribute("aria-pressed", String(state.statuses.indexOf(b.dataset.statusPick) >= 0));
    });
    $$("[data-family-pick]").forEach(function (b) {
      b.setAttribute("aria-pressed", String(state.family === b.dataset.familyPick));
    });
  }

  $$("[data-status-pick]").forEach(function (b) {
    b.addEventListener("click", function () {
      var s = b.dataset.statusPick, at = state.statuses.indexOf(s);
      if (at >= 0) state.statuses.splice(at, 1); else state.statuses.push(s);
      apply();
    });
  });
  $$("[data-family-pick]").forEach(function (b) {
    b.addEventListener("click", function () {
      state.family = state.family === b.dataset.familyPick ? "" : b.dataset.familyPick;
      family.value = state.family;
      apply();
      $(".toolbar").scrollIntoView({ block: "start" });
    });
  });
  family.addEventListener("change", function () { state.family = family.value; apply(); });
  host.addEventListener("change", function () { state.host = host.value; apply(); });
  text.addEventListener("input", function () {
    state.words = text.value.toLowerCase().split(/\s+/).filter(Boolean);
    apply();
  });
  $("#filter-reset").addEventListener("click", function () {
    state = { statuses: [], family: "", host: "", words: [] };
    family.value = host.value = text.value = "";
    apply();
  });

  // Views: tabs when the script runs; all three one after the other without it (and in print).
  var tabs = $$('[role="tab"]');
  function select(tab) {
    tabs.forEach(function (t) {
      var on = t === tab;
      t.setAttribute("aria-selected", String(on));
      t.tabIndex = on ? 0 : -1;
      document.getElementById(t.getAttribute("aria-controls")).hidden = !on;
    });
  }
  tabs.forEach(function (t, i) {
    t.addEventListener("click", function () { select(t); });
    t.addEventListener("keydown", function (e) {
      var step = e.key === "ArrowRight" ? 1 : e.key === "ArrowLeft" ? -1 : 0;
      if (step) { var next = tabs[(i + step + tabs.length) % tabs.length]; select(next); next.focus(); }
    });
  });
  select(tabs[0]);

  // The detail of a cell: the control's policy wording, then the records with every check.
  var dialog = $("#detail"), body = $("#detail-body");
  function open(key) {
    var cell = document.getElementById("d-" + key);
    if (!cell) return;
    var control = key.slice(key.indexOf("-") + 1);
    body.textContent = "";
    body.appendChild(document.getElementById("c-" + control).content.cloneNode(true));
    body.appendChild(cell.content.cloneNode(true));
    $("#detail-title").textContent = data.hosts[key.slice(0, key.indexOf("-"))] + " · " + control + " " + data.controls[control];
    if (dialog.showModal) { if (!dialog.open) dialog.showModal(); } else { dialog.setAttribute("open", ""); }
  }
  document.addEventListener("click", function (e) {
    var opener = e.target.closest && e.target.closest("[data-open], .cell");
    if (opener) open(opener.dataset.open || opener.parentNode.dataset.key);
  });
  $("#detail-close").addEventListener("click", function () { dialog.close(); });
  dialog.addEventListener("click", function (e) { if (e.target === dialog) dialog.close(); });

  apply();
})();
