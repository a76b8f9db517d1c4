//! Survey responses (CSAT 1–5, NPS 0–10). Append-only; scores are checked against the survey's
//! scale on the way in and on the way out.

use model::{ContactId, OrgId, SurveyKind, SurveyResponse, SurveyResponseId};

use crate::Store;
use crate::error::StoreError;
use crate::page::{Page, PageOf};
use crate::repo::{Keyset, Table};
use crate::sql::{RowReader, Value};

const SURVEYS: Table = Table {
    name: "survey_responses",
    what: "survey response",
    cols: &["id", "org_id", "contact_id", "kind", "score", "comment", "at_ms"],
};

fn from_row(r: &RowReader<'_>) -> Result<SurveyResponse, StoreError> {
    let kind: SurveyKind = r.parse("kind")?;
    let score = SurveyResponse::validate_score(kind, r.int("score")?).map_err(|e| r.invalid("score", e))?;
    Ok(SurveyResponse {
        id: r.parse("id")?,
        org: r.parse("org_id")?,
        contact: r.parse("contact_id")?,
        kind,
        score,
        comment: r.opt_text("comment")?,
        at: r.time("at_ms")?,
    })
}

impl Store {
    /// [`StoreError::InvalidInput`] when the score is off the survey's scale.
    pub async fn insert_survey_response(&self, response: &SurveyResponse) -> Result<(), StoreError> {
        SurveyResponse::validate_score(response.kind, i64::from(response.score))
            .map_err(|e| StoreError::InvalidInput { what: "survey score", reason: e.to_string() })?;
        let v = vec![
            Value::from(response.id.to_string()),
            Value::from(response.org.to_string()),
            Value::from(response.contact.to_string()),
            Value::from(response.kind.as_str()),
            Value::from(i64::from(response.score)),
            Value::Text(response.comment.clone()),
            Value::from(response.at.unix_ms()),
        ];
        self.insert_row(&SURVEYS, v).await
    }

    pub async fn get_survey_response(
        &self,
        org: OrgId,
        id: SurveyResponseId,
    ) -> Result<Option<SurveyResponse>, StoreError> {
        self.get_row(&SURVEYS, org, id.to_string(), from_row).await
    }

    /// A contact's survey answers, oldest first.
    pub async fn list_survey_responses_by_contact(
        &self,
        org: OrgId,
        contact: ContactId,
        page: &Page,
    ) -> Result<PageOf<SurveyResponse>, StoreError> {
        let filter = ("contact_id = ?", vec![Value::from(contact.to_string())]);
        self.list_rows(&SURVEYS, org, Some(filter), Keyset::TimeAsc("at_ms"), page, from_row).await
    }
}
