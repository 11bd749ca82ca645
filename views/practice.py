"""Practice: exercises drawn from the other pages' space, checked against torch on the spot; a teacher hands a set
out as one link, and a student works through it and sees a score (kept in the session only)."""

import hashlib
import secrets
from urllib.parse import urlencode

import streamlit as st

import lnorm_core as lc
from lnorm_app import figures, ui
from lnorm_app.figures.pitfalls import pooling_figure, steps_table
from lnorm_app.figures.practice import checked_figure, pick_figure
from lnorm_app.models import practice as M
from lnorm_app.models.explorer import explore
from lnorm_core.practice import MAX_SET

DRAFT = "practice-draft"  # the set a teacher is building: a list of codes, in this session only
SAME = {"same": True, "different": False}


def new_exercise(kind):
    """A new exercise of kind, drawn from a fresh seed, into the link."""
    st.query_params["ex"] = M.new_code(kind, secrets.randbelow(2**31))


def on_pick(slot, cells):
    """Cells clicked, boxed or lassoed on the picture: picked, or (when all were picked already) taken back."""
    event = st.session_state.get(f"pick-{slot}")
    points = event.selection.points if event else []
    flat = {int(p["customdata"]) for p in points if isinstance(p.get("customdata"), (int, float))}
    labels = [cells[i] for i in sorted(flat) if 0 <= i < len(cells)]
    current = list(st.session_state.get(f"picks-{slot}", []))
    if labels and all(label in current for label in labels):
        current = [label for label in current if label not in labels]
    else:
        current += [label for label in labels if label not in current]
    st.session_state[f"picks-{slot}"] = current


def answer_share(ex, q, slot):
    st.multiselect("Your cells (clicked on the picture, or chosen here)", q.cells, key=f"picks-{slot}",
                   placeholder="click cells on the picture")
    picked = [q.cells.index(label) for label in st.session_state.get(f"picks-{slot}", [])]
    fig = pick_figure(ex.spec, ex.shape, ex.x(), ex.where, picked)
    st.plotly_chart(fig, key=f"pick-{slot}", on_select=lambda: on_pick(slot, q.cells),
                    selection_mode=("points", "box", "lasso"), width="stretch")
    return tuple(picked)


def answer_typed(ex, q, slot):
    label = "Your row, 4 decimals" if ex.kind == "row" else f"running_var[{ex.where[0]}], 4 decimals"
    text = st.text_input(label, key=f"typed-{slot}", max_chars=M.MAX_ANSWER_CHARS,
                         placeholder="[0.1234, -0.5678, ...]" if ex.kind == "row" else "0.1234",
                         help="Parsed as numbers, never run.")
    return text if text and text.strip() else None


def answer_accept(ex, q, slot):
    chosen = st.pills("Torch accepts", q.options, selection_mode="multi", key=f"choices-{slot}")
    return tuple(q.options.index(c) for c in chosen or ())


def answer_same(ex, q, slot):
    given = []
    for i, text in enumerate(q.options):
        pick = st.segmented_control(text, list(SAME), key=f"same-{slot}-{i}")
        given.append(SAME.get(pick))
    return tuple(given)


ANSWERS = {"share": answer_share, "row": answer_typed, "accept": answer_accept, "same": answer_same,
           "buffers": answer_typed}


def explain(ex, c):
    """The verdict, then why: the lines, the picture and the links into the pages that show it."""
    v = c.verdict
    (st.success if v.right else st.error)(ui.literal(v.headline), icon=":material/check_circle:" if v.right
                                          else ":material/cancel:")
    if ex.kind == "row":
        st.code("\n".join(v.lines[:2]), language=None)
        for line in v.lines[2:]:
            st.markdown(line)
        rows, mistakes = c.steps
        label = figures.pitfall_label(mistakes)
        title, table = steps_table(rows, label)
        if v.right:  # the table still shows a mistake: say it is there to compare with, not what was typed
            st.caption(f"Your row is torch's. For comparison, the same group computed with the usual mistake, "
                       f"{label}, beside the layer's arithmetic: the step where it would part.")
        st.markdown(f"**{title}**")
        st.markdown(table)
    elif ex.kind == "accept":
        for choice in v.detail:
            mark = ":green[✓ torch accepts it]" if choice.accepted else ":red[✗ torch refuses it]"
            mine = "you chose it" if choice.chosen else "you left it out"
            st.markdown(f"**{choice.label}** — {mark} ({mine})")
            if choice.message:
                st.code(choice.message, language=None, wrap_lines=True)
                st.caption(choice.meaning)
    elif ex.kind == "same":
        for a in v.detail:
            given = {True: "same", False: "different", None: "no answer"}[a.given]
            mark = "✓" if a.given is a.key else "✗"
            st.markdown(f"{mark} {a.question} torch: **{'same' if a.key else 'different'}**; you: {given}")
        st.markdown("\n".join(f"- {line}" for line in v.lines))
    else:
        st.markdown("\n".join(f"- {line}" for line in v.lines))
    if c.group:
        st.markdown(f"The group of x[{', '.join(map(str, ex.where))}]: **{c.group}**.")
    if c.cells is not None:
        ui.chart(checked_figure(ex.spec, ex.shape, ex.x(), ex.where, *c.cells), "every cell is drawn")
    if c.pooling is not None:
        ui.chart(pooling_figure(c.pooling), "every cell is drawn")
    if c.buffers is not None:
        ui.chart(figures.running_stats_figure(*c.buffers), "every channel is drawn")
    if c.config is not None:
        st.caption(f"The groups of {c.config.spec().torch_name(c.config.shape, short=True)}, as the Explorer draws them:")
        ui.chart(figures.group_map(explore(c.config)), "every cell is drawn")
    for label, page, params in c.links:
        st.page_link(page, label=label, query_params=params, icon=":material/open_in_new:")


def exercise_block(code, slot, on_checked=None):
    """One exercise: the question, the answer's controls, Check, and once checked the explanation."""
    ex, q = M.exercise(code), M.question(code)
    st.subheader(q.heading)
    st.markdown(q.prompt)
    if q.code:
        st.code(q.code, language="python", wrap_lines=True)
    answer = ANSWERS[ex.kind](ex, q, slot)
    if st.button("Check", key=f"check-{slot}", type="primary", disabled=answer is None):
        st.session_state[f"answer-{slot}"] = answer
    if f"answer-{slot}" not in st.session_state:
        return None
    with ui.user_errors(stop=False):
        c = M.checked(code, st.session_state[f"answer-{slot}"])
        if on_checked:
            on_checked(c.verdict.right)
        explain(ex, c)
        return c
    del st.session_state[f"answer-{slot}"]  # an answer that cannot be read: the message above, and no verdict kept
    return None


def build_set(code):
    """The sidebar where a teacher gathers the exercises on screen into a set, and copies its link."""
    sb = st.sidebar
    sb.header("Hand out a set")
    draft = st.session_state.setdefault(DRAFT, [])
    sb.caption(f"Add the exercise on screen, draw another, add it too (up to {MAX_SET}); then copy the link. "
               "Students open it and work through the set in order; their score stays in their browser tab.")
    sb.button("Add this exercise to the set", key="add", icon=":material/add:", disabled=code is None or code in draft
              or len(draft) >= MAX_SET, on_click=lambda: draft.append(code))
    for i, c in enumerate(draft, 1):
        sb.markdown(f"{i}. {M.title(c)}")
    if not draft:
        return
    row = sb.container(horizontal=True)
    row.button("Remove the last", key="drop", on_click=draft.pop)
    row.button("Clear", key="clear", on_click=draft.clear)
    params = M.set_params(draft)
    sb.code(f"{st.context.url or '/practice'}?{urlencode(params)}", language=None, wrap_lines=True)
    sb.page_link("views/practice.py", label="Open it as a student", query_params=params, icon=":material/school:")


def free_practice():
    st.write("Pick a kind of exercise; each is drawn from the same layers, shapes and parameters as the other pages, "
             "and your answer is checked against torch.nn itself. The link in the address bar reopens the exercise.")
    buttons = st.container(horizontal=True)
    for kind, label in M.KIND_TITLES.items():
        buttons.button(label, key=f"new-{kind}", on_click=new_exercise, args=(kind,), icon=":material/casino:")
    code = st.query_params.get("ex") or M.DEFAULT
    try:
        M.exercise(code)
    except lc.InputError as e:
        st.error(f"This link's exercise cannot be opened: {ui.literal(e)}. Draw a new one above.",
                 icon=":material/link_off:")
        code = None
    if code:
        exercise_block(code, code)
    build_set(code)


def score(codes, run):
    right = sum(run["first"].get(i, False) for i in range(len(codes)))
    st.header(f"Your score: {right} of {len(codes)}")
    st.write("Right at the first check, exercise by exercise (kept in this browser tab only: nothing is stored on "
             "the server):")
    st.markdown("\n".join(f"{i + 1}. {'✓' if run['first'].get(i) else '✗'} {M.title(c)}" for i, c in enumerate(codes)))
    st.button("Start the set again", key="again", icon=":material/replay:",
              on_click=lambda: run.update(at=0, first={}, again=run.get("again", 0) + 1))


def student(text):
    with ui.user_errors():
        exercises = M.exercise_set(text)
    codes = [ex.code for ex in exercises]
    digest = hashlib.sha256(text.encode("utf-8", "replace")).hexdigest()[:12]
    run = st.session_state.setdefault(f"practice-run-{digest}", {"at": 0, "first": {}})
    at, n = run["at"], len(codes)
    if at >= n:
        score(codes, run)
        return
    st.progress(at / n, text=f"Exercise {at + 1} of {n}: answer, check, then go on. The score counts first checks.")
    slot = f"{digest}-{run.get('again', 0)}-{at}"
    c = exercise_block(codes[at], slot, on_checked=lambda right: run["first"].setdefault(at, right))
    if c is not None:
        st.button("See your score" if at + 1 == n else "Next exercise", key=f"next-{slot}", type="primary",
                  icon=":material/arrow_forward:", on_click=lambda: run.update(at=at + 1))


st.title("Practice")
set_text = st.query_params.get("set")
if set_text:
    st.caption("A set of exercises handed out as a link. Work through them in order; each answer is checked against "
               "torch.nn and explained.")
    student(set_text)
    st.page_link("views/practice.py", label="Practice on your own: new exercises", icon=":material/casino:")
else:
    free_practice()
