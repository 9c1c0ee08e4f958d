//! The timer rules, one test each, on a clock moved by hand.

use super::*;

fn start(timers: &mut Timers, name: Option<&str>, secs: u64, now: Instant) -> TimerInfo {
    let request = TimerRequest::Start { name: name.map(str::to_string), duration: Duration::from_secs(secs) };
    match timers.apply(&request, now).unwrap() {
        Applied::Changed(events) => {
            assert_eq!(events.len(), 1);
            assert_eq!(events[0].kind, EventKind::Started);
            events[0].timer.clone()
        }
        other => panic!("{other:?}"),
    }
}

fn named(name: &str) -> Selector {
    Selector { name: Some(name.into()), started: None }
}

fn kinds(events: &[TimerEvent]) -> Vec<(EventKind, u64)> {
    events.iter().map(|e| (e.kind, e.timer.id)).collect()
}

#[test]
fn timers_run_out_in_order_and_ring_until_stopped() {
    let t0 = Instant::now();
    let mut timers = Timers::new(Duration::from_secs(60));
    let a = start(&mut timers, None, 120, t0);
    let b = start(&mut timers, Some("pizza"), 30, t0);
    assert_eq!(timers.next_deadline(), Some(t0 + Duration::from_secs(30)));
    assert!(timers.tick(t0 + Duration::from_secs(29)).is_empty());
    assert_eq!(kinds(&timers.tick(t0 + Duration::from_secs(30))), [(EventKind::Finished, b.id)]);
    assert!(timers.ringing());
    assert_eq!(timers.list(t0 + Duration::from_secs(31))[1].state, TimerState::Ringing);
    assert_eq!(kinds(&timers.stop_ringing(t0 + Duration::from_secs(35))), [(EventKind::Cancelled, b.id)]);
    assert!(!timers.ringing());
    let left = timers.list(t0 + Duration::from_secs(35));
    assert_eq!((left.len(), left[0].id, left[0].left), (1, a.id, Duration::from_secs(85)));
}

#[test]
fn a_timer_nobody_stops_rings_for_the_ring_limit_only() {
    let t0 = Instant::now();
    let mut timers = Timers::new(Duration::from_secs(60));
    let a = start(&mut timers, None, 10, t0);
    // A late tick still rings it from when it ran out.
    assert_eq!(kinds(&timers.tick(t0 + Duration::from_secs(15))), [(EventKind::Finished, a.id)]);
    assert_eq!(timers.next_deadline(), Some(t0 + Duration::from_secs(70)));
    assert!(timers.tick(t0 + Duration::from_secs(69)).is_empty());
    assert_eq!(kinds(&timers.tick(t0 + Duration::from_secs(70))), [(EventKind::Cancelled, a.id)]);
    assert!(timers.list(t0 + Duration::from_secs(70)).is_empty() && timers.next_deadline().is_none());
}

#[test]
fn a_request_means_one_timer_or_does_nothing() {
    let t0 = Instant::now();
    let mut timers = Timers::new(Duration::from_secs(60));
    let only = start(&mut timers, None, 300, t0);
    // One timer: "cancel the timer" means it.
    let mut copy = timers.clone();
    let Applied::Changed(events) = copy.apply(&TimerRequest::Cancel(Selector::default()), t0).unwrap() else {
        panic!()
    };
    assert_eq!(kinds(&events), [(EventKind::Cancelled, only.id)]);
    let pizza = start(&mut timers, Some("Pizza"), 600, t0);
    // Two: which one?
    assert_eq!(
        timers.apply(&TimerRequest::Cancel(Selector::default()), t0),
        Err(TimerError::Ambiguous { selector: Selector::default(), count: 2 })
    );
    // By name (case does not matter) or by the length it was started with.
    let Applied::Changed(events) = timers.clone().apply(&TimerRequest::Cancel(named("pizza")), t0).unwrap() else {
        panic!()
    };
    assert_eq!(kinds(&events), [(EventKind::Cancelled, pizza.id)]);
    let five = Selector { name: None, started: Some(Duration::from_secs(300)) };
    let Applied::Changed(events) = timers.clone().apply(&TimerRequest::Cancel(five), t0).unwrap() else { panic!() };
    assert_eq!(kinds(&events), [(EventKind::Cancelled, only.id)]);
    assert_eq!(timers.apply(&TimerRequest::Pause(named("tea")), t0), Err(TimerError::NotFound(named("tea"))));
    assert_eq!(timers.list(t0).len(), 2, "nothing was done");
    // Status without a selector reports every timer; with one, those that fit.
    let status =
        |timers: &mut Timers, s: Selector| match timers.apply(&TimerRequest::Status(s), t0 + Duration::from_secs(60)) {
            Ok(Applied::Status(list)) => list.iter().map(|t| (t.id, t.left)).collect::<Vec<_>>(),
            other => panic!("{other:?}"),
        };
    assert_eq!(
        status(&mut timers, Selector::default()),
        [(only.id, Duration::from_secs(240)), (pizza.id, Duration::from_secs(540))]
    );
    assert_eq!(status(&mut timers, named("PIZZA")), [(pizza.id, Duration::from_secs(540))]);
    assert_eq!(status(&mut timers, named("tea")), []);
    let Applied::Changed(events) = timers.apply(&TimerRequest::CancelAll, t0).unwrap() else { panic!() };
    assert_eq!(kinds(&events), [(EventKind::Cancelled, only.id), (EventKind::Cancelled, pizza.id)]);
}

#[test]
fn a_paused_timer_keeps_its_time() {
    let t0 = Instant::now();
    let mut timers = Timers::new(Duration::from_secs(60));
    let a = start(&mut timers, None, 100, t0);
    let pause = TimerRequest::Pause(Selector::default());
    let Applied::Changed(events) = timers.apply(&pause, t0 + Duration::from_secs(40)).unwrap() else { panic!() };
    assert_eq!(
        (events[0].kind, events[0].timer.left, events[0].timer.state),
        (EventKind::Paused, Duration::from_secs(60), TimerState::Paused)
    );
    assert_eq!(timers.apply(&pause, t0 + Duration::from_secs(41)), Err(TimerError::Already("paused")));
    assert!(timers.next_deadline().is_none() && timers.tick(t0 + Duration::from_secs(1000)).is_empty());
    let resume = TimerRequest::Unpause(Selector::default());
    let Applied::Changed(events) = timers.apply(&resume, t0 + Duration::from_secs(1000)).unwrap() else { panic!() };
    assert_eq!((events[0].kind, events[0].timer.left), (EventKind::Resumed, Duration::from_secs(60)));
    assert_eq!(timers.apply(&resume, t0 + Duration::from_secs(1000)), Err(TimerError::Already("running")));
    assert_eq!(kinds(&timers.tick(t0 + Duration::from_secs(1060))), [(EventKind::Finished, a.id)]);
}

#[test]
fn time_added_or_taken_off() {
    let t0 = Instant::now();
    let mut timers = Timers::new(Duration::from_secs(60));
    let a = start(&mut timers, None, 300, t0);
    let up = TimerRequest::Increase(Selector::default(), Duration::from_secs(60));
    let Applied::Changed(events) = timers.apply(&up, t0 + Duration::from_secs(100)).unwrap() else { panic!() };
    assert_eq!(
        (events[0].kind, events[0].timer.left, events[0].timer.total),
        (EventKind::Changed, Duration::from_secs(260), Duration::from_secs(360))
    );
    // Still "the 5 minute timer": the length it was started with.
    let five = Selector { name: None, started: Some(Duration::from_secs(300)) };
    assert!(timers.apply(&TimerRequest::Status(five), t0).is_ok());
    let down = TimerRequest::Decrease(Selector::default(), Duration::from_secs(1000));
    let Applied::Changed(events) = timers.apply(&down, t0 + Duration::from_secs(100)).unwrap() else { panic!() };
    assert_eq!(events[0].timer.left, Duration::ZERO);
    assert_eq!(kinds(&timers.tick(t0 + Duration::from_secs(100))), [(EventKind::Finished, a.id)]);
    // Paused and taken down to nothing, it rings too.
    let b = start(&mut timers, Some("tea"), 300, t0);
    timers.apply(&TimerRequest::Pause(named("tea")), t0).unwrap();
    timers.apply(&TimerRequest::Decrease(named("tea"), Duration::from_secs(300)), t0).unwrap();
    assert_eq!(kinds(&timers.tick(t0)), [(EventKind::Finished, b.id)]);
}

#[test]
fn limits() {
    let t0 = Instant::now();
    let mut timers = Timers::new(Duration::from_secs(60));
    let start_for = |secs| TimerRequest::Start { name: None, duration: Duration::from_secs(secs) };
    assert_eq!(timers.apply(&start_for(0), t0), Err(TimerError::BadDuration));
    assert_eq!(timers.apply(&start_for(24 * 3600 + 1), t0), Err(TimerError::BadDuration));
    for _ in 0..MAX_TIMERS {
        timers.apply(&start_for(60), t0).unwrap();
    }
    assert_eq!(timers.apply(&start_for(60), t0), Err(TimerError::TooMany));
    let first = Selector { name: None, started: Some(Duration::from_secs(60)) };
    let mut one = Timers::new(Duration::from_secs(60));
    one.apply(&start_for(23 * 3600), t0).unwrap();
    let more = TimerRequest::Increase(Selector::default(), Duration::from_secs(3601));
    assert_eq!(one.apply(&more, t0), Err(TimerError::BadDuration));
    assert!(matches!(timers.apply(&TimerRequest::Cancel(first), t0), Err(TimerError::Ambiguous { count: 20, .. })));
    assert!(TimerError::TooMany.to_string().contains("cancel one first"));
}

#[test]
fn requests_from_home_assistants_slots() {
    let slots = |pairs: &[(&str, SlotValue)]| pairs.iter().map(|(k, v)| (k.to_string(), v.clone())).collect();
    let n = SlotValue::Number;
    let t = |s: &str| SlotValue::Text(s.into());
    assert_eq!(
        TimerRequest::from_intent(
            "HassStartTimer",
            &slots(&[("minutes", n(1.0)), ("seconds", n(30.0)), ("name", t(" pizza "))])
        ),
        Some(TimerRequest::Start { name: Some("pizza".into()), duration: Duration::from_secs(90) })
    );
    assert_eq!(TimerRequest::from_intent("HassStartTimer", &slots(&[("name", t("pizza"))])), None);
    assert_eq!(
        TimerRequest::from_intent("HassCancelTimer", &slots(&[("start_minutes", n(5.0))])),
        Some(TimerRequest::Cancel(Selector { name: None, started: Some(Duration::from_secs(300)) }))
    );
    assert_eq!(
        TimerRequest::from_intent("HassIncreaseTimer", &slots(&[("minutes", n(2.0)), ("name", t("tea"))])),
        Some(TimerRequest::Increase(named("tea"), Duration::from_secs(120)))
    );
    assert_eq!(TimerRequest::from_intent("HassCancelAllTimers", &slots(&[])), Some(TimerRequest::CancelAll));
    assert_eq!(TimerRequest::from_intent("HassTurnOn", &slots(&[("minutes", n(2.0))])), None);
    assert_eq!(TimerRequest::from_intent("HassStartTimer", &slots(&[("minutes", n(-2.0))])), None);
}

#[test]
fn mqtt_shapes() {
    let t0 = Instant::now();
    let mut timers = Timers::new(Duration::from_secs(60));
    let info = start(&mut timers, Some("pizza"), 90, t0);
    let Applied::Changed(events) =
        timers.apply(&TimerRequest::Pause(named("pizza")), t0 + Duration::from_millis(200)).unwrap()
    else {
        panic!()
    };
    // 89.8 s left is 90 whole seconds: a timer shows 0 only when it has run out.
    assert_eq!(
        events[0].to_json(),
        json!({"event": "paused", "id": info.id, "name": "pizza", "seconds_total": 90, "seconds_left": 90})
    );
    assert_eq!(
        timers.list(t0)[0].to_json(),
        json!({"id": info.id, "name": "pizza", "seconds_total": 90, "seconds_left": 90, "state": "paused"})
    );
}
