// timeline.js - the Backups tab's picture of a table's writes over its
// recovery window: an SVG bar chart of writes per interval (from the
// server's Tidemark_20261125.DescribeWriteHistory), with the table's
// backups marked.  Choosing a bar picks the last millisecond of its
// interval as the restore time (everything written in the bar, nothing
// after), which backups.js puts into the restore form.
//
// Keyboard: the chart is one tab stop (a roving tabindex); Left/Right (and
// Home/End) move between bars, Enter or Space picks one.  Each bar is a
// role="button" with a label saying its writes and times, so a screen
// reader user gets the same information as the picture.
//
// The drawing's viewBox is as wide as its container (320 to 1100 units)
// and 180 high, so one unit is about a pixel: text stays readable and the
// chart fits a phone's width without scrolling.

import { h, formatClock, formatTime } from "./ui.js";

const H = 180;
const TOP = 22; // room for backup markers
const BOTTOM = 26; // room for the time axis
const LEFT = 34; // room for the count axis

/**
 * @param {object} o
 *   buckets   [{Start, End, Writes}] (epoch seconds)
 *   backups   [{BackupName, Time, BackupType}]
 *   selected  epoch ms of the chosen restore time, or null
 *   onPick    (ms, bucket) => void
 *   width     the container's width in pixels
 * @returns the SVG element
 */
export function renderTimeline({ buckets, backups, selected, onPick, label, width }) {
  const W = Math.round(Math.min(1100, Math.max(320, width || 600)));
  const n = buckets.length;
  const t0 = buckets[0].Start * 1000;
  const t1 = buckets[n - 1].End * 1000;
  const max = Math.max(1, ...buckets.map((b) => b.Writes));
  const plotW = W - LEFT - 4;
  const plotH = H - TOP - BOTTOM;
  const x = (ms) => LEFT + ((ms - t0) / (t1 - t0)) * plotW;
  const bw = plotW / n;

  const svg = h("svg:svg", {
    viewBox: `0 0 ${W} ${H}`,
    class: "timeline",
    role: "group",
    "aria-label": label,
    "data-testid": "timeline",
  });
  // axes: zero line, max label, start and end times
  svg.append(
    h("svg:line", { x1: LEFT, x2: W - 4, y1: TOP + plotH, y2: TOP + plotH, class: "axis" }),
    h("svg:text", { x: LEFT - 4, y: TOP + 8, class: "tick end", text: String(max) }),
    h("svg:text", { x: LEFT - 4, y: TOP + plotH, class: "tick end", text: "0" }),
    h("svg:text", { x: LEFT, y: H - 8, class: "tick", text: formatClock(t0) }),
    h("svg:text", { x: W - 4, y: H - 8, class: "tick end", text: formatClock(t1) }),
  );
  if (n > 2) {
    const mid = (t0 + t1) / 2;
    svg.append(h("svg:text", { x: x(mid), y: H - 8, class: "tick middle", text: formatClock(mid) }));
  }

  const bars = buckets.map((b, i) => {
    const start = Math.round(b.Start * 1000);
    const end = Math.round(b.End * 1000);
    const pick = Math.max(start, end - 1); // the interval's last millisecond
    const bh = b.Writes ? Math.max(2, (b.Writes / max) * plotH) : 0;
    const chosen = selected !== null && selected !== undefined && selected >= start && selected < end;
    const text =
      `${b.Writes} write${b.Writes === 1 ? "" : "s"} from ${formatTime(start)} to ${formatTime(end)}. ` +
      `Restore to ${formatTime(pick)}`;
    const g = h(
      "svg:g",
      {
        class: "bar" + (b.Writes ? " has-writes" : "") + (chosen ? " selected" : ""),
        role: "button",
        tabindex: "-1",
        "aria-label": text,
        "aria-pressed": chosen ? "true" : "false",
        "data-start": start,
        "data-end": end,
        "data-writes": b.Writes,
        "data-pick": pick,
      },
      h("svg:title", { text }),
      // the whole column is the target, not only the (maybe empty) bar
      h("svg:rect", { class: "hit", x: LEFT + i * bw, y: TOP, width: bw, height: plotH }),
      h("svg:rect", {
        class: "fill",
        x: LEFT + i * bw + (bw > 3 ? 0.5 : 0),
        y: TOP + plotH - bh,
        width: Math.max(1, bw - (bw > 3 ? 1 : 0)),
        height: bh,
      }),
    );
    g.addEventListener("click", () => onPick(pick, b));
    return g;
  });
  // one tab stop: the chosen bar, else the last one with writes, else the last
  let focusIdx = bars.findIndex((g) => g.classList.contains("selected"));
  if (focusIdx < 0) {
    for (let i = n - 1; i >= 0; i--) if (buckets[i].Writes) {
      focusIdx = i;
      break;
    }
  }
  if (focusIdx < 0) focusIdx = n - 1;
  bars[focusIdx].setAttribute("tabindex", "0");
  const barsGroup = h("svg:g", { class: "bars" }, bars);
  barsGroup.addEventListener("keydown", (ev) => {
    const i = bars.indexOf(ev.target.closest("g.bar"));
    if (i < 0) return;
    let j = i;
    if (ev.key === "ArrowRight") j = Math.min(n - 1, i + 1);
    else if (ev.key === "ArrowLeft") j = Math.max(0, i - 1);
    else if (ev.key === "Home") j = 0;
    else if (ev.key === "End") j = n - 1;
    else if (ev.key === "Enter" || ev.key === " ") {
      ev.preventDefault();
      bars[i].dispatchEvent(new MouseEvent("click", { bubbles: true }));
      return;
    } else return;
    ev.preventDefault();
    bars[i].setAttribute("tabindex", "-1");
    bars[j].setAttribute("tabindex", "0");
    bars[j].focus();
  });
  svg.append(barsGroup);

  // the chosen time as a line
  if (selected !== null && selected !== undefined && selected >= t0 && selected <= t1) {
    svg.append(h("svg:line", { class: "chosen", x1: x(selected), x2: x(selected), y1: TOP - 4, y2: TOP + plotH }));
  }
  // backups: a marker at the top with its name
  for (const b of backups) {
    const ms = b.Time * 1000;
    if (ms < t0 || ms > t1) continue;
    const cx = x(ms);
    svg.append(
      h(
        "svg:g",
        { class: "backup-mark", "data-name": b.BackupName },
        h("svg:title", { text: `Backup ${b.BackupName} (${b.BackupType}) at ${formatTime(ms)}` }),
        h("svg:path", { d: `M${cx - 5},${TOP - 16} L${cx + 5},${TOP - 16} L${cx},${TOP - 7} Z` }),
        h("svg:line", { x1: cx, x2: cx, y1: TOP - 7, y2: TOP + plotH }),
      ),
    );
  }
  return svg;
}
