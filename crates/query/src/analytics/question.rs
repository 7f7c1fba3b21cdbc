//! One ready-made question with its parameters: what a command or a read route asks, planned the
//! same way for both.

use datafusion::dataframe::DataFrame;

use super::ctr::{CtrParams, LinkParams, element_ctr, link_ctr};
use super::frustration::{FrustrationParams, frustration};
use super::funnel::{FunnelParams, funnel};
use super::heatmap::{HeatmapParams, heatmap};
use super::scroll::{ScrollParams, scroll_depth};
use crate::{EventsSession, Result};

/// A question over `events`, answered by one or more result frames (see [`Question::parts`]).
///
/// ```no_run
/// # async fn example(session: &heatlake_query::EventsSession) -> heatlake_query::Result<()> {
/// use heatlake_query::analytics::question::{Question, ScrollPart};
/// use heatlake_query::analytics::scroll::ScrollParams;
///
/// let question = Question::Scroll {
///     params: ScrollParams { site: "shop.example".into(), path: "/".into(), ..Default::default() },
///     part: ScrollPart::Both,
/// };
/// assert_eq!(question.parts(), ["summary", "reach"]);
/// let frames = question.frames(session).await?;
/// assert_eq!(frames.len(), 2);
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Question {
    /// Heat cells of clicks or moves ([`heatmap`]).
    Heatmap(HeatmapParams),
    /// How far down a page its page views got ([`scroll_depth`]), one part or both.
    Scroll {
        /// The page and traffic.
        params: ScrollParams,
        /// Which of the two answers.
        part: ScrollPart,
    },
    /// Click-through per element ([`element_ctr`]).
    ElementCtr(CtrParams),
    /// Click-through per next page ([`link_ctr`]).
    LinkCtr(LinkParams),
    /// Rage and dead clicks ([`frustration`]).
    Frustration(FrustrationParams),
    /// Sessions through ordered steps ([`funnel`]).
    Funnel(FunnelParams),
}

/// Which answers of a scroll-depth question.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ScrollPart {
    /// The summary row, then the reach curve.
    #[default]
    Both,
    /// The summary row only.
    Summary,
    /// The reach curve only.
    Reach,
}

impl Question {
    /// The site the question is about (a read key must grant it).
    pub fn site(&self) -> &str {
        match self {
            Self::Heatmap(params) => &params.site,
            Self::Scroll { params, .. } => &params.site,
            Self::ElementCtr(params) => &params.site,
            Self::LinkCtr(params) => &params.site,
            Self::Frustration(params) => &params.site,
            Self::Funnel(params) => &params.site,
        }
    }

    /// The names of the answer's parts, one per frame of [`Question::frames`], in order.
    pub fn parts(&self) -> &'static [&'static str] {
        match self {
            Self::Heatmap(_) => &["cells"],
            Self::Scroll { part, .. } => match part {
                ScrollPart::Both => &["summary", "reach"],
                ScrollPart::Summary => &["summary"],
                ScrollPart::Reach => &["reach"],
            },
            Self::ElementCtr(_) | Self::LinkCtr(_) => &["ctr"],
            Self::Frustration(_) => &["frustration"],
            Self::Funnel(_) => &["funnel"],
        }
    }

    /// Plans the question's frames in `session` (nothing runs until they are collected).
    pub async fn frames(&self, session: &EventsSession) -> Result<Vec<DataFrame>> {
        Ok(match self {
            Self::Heatmap(params) => vec![heatmap(session, params).await?],
            Self::Scroll { params, part } => {
                let depth = scroll_depth(session, params).await?;
                match part {
                    ScrollPart::Both => vec![depth.summary, depth.reach],
                    ScrollPart::Summary => vec![depth.summary],
                    ScrollPart::Reach => vec![depth.reach],
                }
            }
            Self::ElementCtr(params) => vec![element_ctr(session, params).await?],
            Self::LinkCtr(params) => vec![link_ctr(session, params).await?],
            Self::Frustration(params) => vec![frustration(session, params).await?],
            Self::Funnel(params) => vec![funnel(session, params).await?],
        })
    }
}
