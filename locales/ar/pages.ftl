# الصفحات: الاشتراك، والتأكيد، وإلغاء الاشتراك، والتفضيلات، والأرشيف، والأخطاء.
# The pages. Variables as in en/pages.ftl.

page-title = { $title } · { $site }

## Signup

page-signup-title = اشترك في النشرة
page-signup-message = أبرز الأخبار في بريدك، مرة كل يوم أو مرة كل أسبوع.
page-signup-email = عنوان البريد الإلكتروني
page-signup-name = الاسم (اختياري)
page-signup-honeypot = اترك هذا الحقل فارغًا
page-signup-sections = الأقسام (إن لم تختر شيئًا: جميعها)
page-signup-frequency = وتيرة الإرسال
page-signup-submit = اشترك
page-signup-done-title = تفقّد بريدك
page-signup-done-message = إن كان هذا العنوان يستقبل نشرتنا، فرسالة تحمل رابط التأكيد في طريقها إليك. الرابط صالح لمدة { PLURAL($hours) ->
    [one] ساعة واحدة
    [two] ساعتين
    [few] { $hours } ساعات
   *[other] { $hours } ساعة
}.
page-signup-bad-address-title = تحقّق من العنوان
page-signup-bad-address-message = لا يبدو هذا عنوان بريد إلكتروني.
page-signup-tz-found = المنطقة الزمنية: { $zone }، بحسب متصفحك. يمكنك تغييرها عند تأكيد الاشتراك.

## Confirmation

page-confirm-title = أكّد اشتراكك
page-confirm-message = أكّد رغبة { $email } في تلقّي نشرة { $site }.
page-confirm-hint = تحقّق من موعد وصول نشرتك؛ يمكنك تغييره لاحقًا من أي نشرة.
page-confirm-submit = تأكيد اشتراكي
page-confirm-already-title = الاشتراك مؤكَّد مسبقًا
page-confirm-already-message = العنوان { $email } مشترك في نشرتنا بالفعل.
page-confirm-expired-title = انتهت صلاحية الرابط
page-confirm-expired-message = انتهت صلاحية رابط التأكيد هذا. اشترك من جديد لتصلك رسالة برابط جديد.
page-confirmed-title = تمّ اشتراكك
page-confirmed-message = { $frequency ->
    [weekly] ستصل نشرتنا الأسبوعية إلى { $email } في الساعة { $time } بتوقيت { $timezone }.
   *[daily] ستصل نشرتنا اليومية إلى { $email } في الساعة { $time } بتوقيت { $timezone }.
}
page-confirm-unknown-message = رابط التأكيد هذا غير صالح، أو سبق استخدامه. إن لم تكن قد أكّدت اشتراكك بعد، فاشترك من جديد لتصلك رسالة برابط جديد.

## Unsubscribe

page-unsubscribe-title = إلغاء الاشتراك؟
page-unsubscribe-message = { $frequency ->
    [weekly] هل نوقف إرسال النشرة الأسبوعية إلى { $email }؟
   *[daily] هل نوقف إرسال النشرة اليومية إلى { $email }؟
}
page-unsubscribe-submit = إلغاء اشتراك { $email }
page-unsubscribe-weekly-offer = رسائل كثيرة؟ يمكنك أن تتلقّى نشرة واحدة في الأسبوع بدلًا من ذلك.
page-unsubscribe-weekly-submit = التحويل إلى النشرة الأسبوعية
page-unsubscribe-pause-submit = إيقاف مؤقت لمدة أسبوعين
page-unsubscribe-invalid = كان المتوقَّع List-Unsubscribe=One-Click أو أحد خيارات صفحة إلغاء الاشتراك.
page-unsubscribed-title = تمّ إلغاء اشتراكك
page-unsubscribed-message = لن تصل نشرتنا إلى { $email } بعد الآن. يؤسفنا رحيلك.
page-unsubscribed-already-message = لم يعد { $email } يتلقّى نشرتنا.
page-paused-title = أُوقفت النشرة مؤقتًا لمدة أسبوعين
page-paused-message = لن تصل أي نشرة إلى { $email } حتى { $date }.
page-weekly-title = تمّ التحويل إلى النشرة الأسبوعية
page-weekly-message = ستصل إلى { $email } نشرة واحدة في الأسبوع من الآن فصاعدًا.

## Preferences

page-preferences-title = نشرتك
page-preferences-message = تفضيلات { $email }.
page-preferences-frequency = وتيرة الإرسال
page-preferences-daily = كل يوم
page-preferences-weekly = مرة في الأسبوع
page-preferences-hour = ساعة الإرسال
page-preferences-timezone = المنطقة الزمنية
page-preferences-timezone-hint = تصلك نشرتك في الساعة المختارة بتوقيت هذه المنطقة.
page-preferences-topics = الأقسام، تفصل بينها فواصل (اتركه فارغًا لتلقّي جميعها)
page-preferences-language = اللغة
page-preferences-language-site = لغة الموقع ({ $language })
page-preferences-submit = حفظ
page-preferences-invalid-title = يُرجى مراجعة النموذج
page-preferences-invalid-field = { $field }: { $reason }
page-reason-timezone = هذه ليست منطقة زمنية نعرفها؛ اختر منطقة من القائمة.
page-reason-hour = اختر ساعة بين 00:00 و23:00.
page-reason-frequency = اختر «كل يوم» أو «مرة في الأسبوع».
page-reason-topics = أحد الأقسام طويل جدًا (64 حرفًا على الأكثر) أو يتضمّن فاصلة منقوطة.
page-reason-language = اختر لغة من القائمة.
page-preferences-saved-title = تمّ الحفظ
page-preferences-saved-message = { $frequency ->
    [weekly] ستصل النشرة الأسبوعية إلى { $email } في الساعة { $time } بتوقيت { $timezone }.
   *[daily] ستصل النشرة اليومية إلى { $email } في الساعة { $time } بتوقيت { $timezone }.
}

## Archive and the digest in a browser

page-archive-title = الأرشيف
page-archive-feed-title = { $site }: أرشيف النشرات
page-archive-empty = لم تصدر أي نشرة بعد.
page-archive-feed = موجز Atom
page-archive-subscribe = احصل على النشرة عبر البريد الإلكتروني
page-archive-all = كل الأعداد
page-archive-frequency = { $frequency ->
    [weekly] النشرة الأسبوعية
   *[daily] النشرة اليومية
}
page-archive-edition-title = { $frequency ->
    [weekly] النشرة الأسبوعية، { $date }
   *[daily] النشرة اليومية، { $date }
}
page-archive-edition-note = الأخبار التي تلقّاها جميع القرّاء، من كل الأقسام.
page-archive-edition-empty = لم يتضمّن هذا العدد أي خبر.
page-archive-stories = { PLURAL($count) ->
    [zero] لا أخبار
    [one] خبر واحد
    [two] خبران
    [few] { $count } أخبار
    [many] { $count } خبرًا
   *[other] { $count } خبر
}
page-archive-newer = الأحدث
page-archive-older = الأقدم
page-view-in-browser = عرض في المتصفح
page-view-missing-title = لم نعثر على النشرة
page-view-missing-message = ليست لدينا نشرة بتاريخ { $date } لهذا العنوان. ربما يكون الرابط ناقصًا: جرّب نسخ الرابط كاملًا من الرسالة.
page-view-expired-title = لم تعد متاحة على الإنترنت
page-view-expired-message = عذرًا، لم تعد نشرة { $date } محفوظة على الإنترنت: نحتفظ بنشرات كل قارئ مدة { PLURAL($days) ->
    [one] يوم واحد
    [two] يومين
    [few] { $days } أيام
    [many] { $days } يومًا
   *[other] { $days } يوم
}.
page-view-expired-archive-message = عذرًا، لم تعد نشرة { $date } محفوظة على الإنترنت: نحتفظ بنشرات كل قارئ مدة { PLURAL($days) ->
    [one] يوم واحد
    [two] يومين
    [few] { $days } أيام
    [many] { $days } يومًا
   *[other] { $days } يوم
}. وما زالت أخبارها متاحة في الأرشيف.

## Errors

page-not-found-title = رابط غير صالح
page-not-found-message = هذا الرابط غير صالح. ربما يكون ناقصًا: جرّب نسخ الرابط كاملًا من الرسالة.
page-no-such-page-title = الصفحة غير موجودة
page-no-such-page-message = لا توجد صفحة بهذا العنوان هنا.
page-bad-request-title = طلب غير صالح
page-bad-form = لم يتضمّن هذا الطلب نموذجًا يمكن قراءته.
page-bad-form-type = كان المتوقَّع نموذجًا (application/x-www-form-urlencoded أو multipart/form-data).
page-too-large-title = الطلب كبير جدًا
page-too-large-message = حجم هذا الطلب أكبر من المسموح به.
page-too-many-title = طلبات كثيرة جدًا
page-too-many-message = يُرجى المحاولة لاحقًا.
page-internal-title = حدث خطأ ما
page-internal-message = يُرجى المحاولة مجددًا بعد بضع دقائق.

## Languages and time zones

language-name = العربية
zone-region-africa = أفريقيا
zone-region-america = الأمريكتان
zone-region-antarctica = القارة القطبية الجنوبية
zone-region-arctic = القطب الشمالي
zone-region-asia = آسيا
zone-region-atlantic = المحيط الأطلسي
zone-region-australia = أستراليا
zone-region-europe = أوروبا
zone-region-indian = المحيط الهندي
zone-region-pacific = المحيط الهادئ
zone-region-other = مناطق أخرى
